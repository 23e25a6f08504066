"""The table and chart of a bench whose rows are IOPS ratios to a baseline,
some with a goal: bench_own_io.py and bench_mirror.py."""


def print_table(report, ratio_key, ratio_label):
    print("\n%-16s %-18s %12s %12s %6s" % ("scenario", "config", "best IOPS", ratio_label,
                                           "goal"))
    for scenario, rows in report["results"].items():
        for name, row in rows.items():
            goal = ("met" if row["goal_met"] else "NOT") if "goal" in row else "-"
            print("%-16s %-18s %12.0f %12.3f %6s" % (scenario, name, row["iops_best"],
                                                     row[ratio_key], goal))


def draw_bars(report, path, series, ratio_key, ylabel, goal):
    """series: [(row name, legend label)], one bar each per scenario, and the goal line."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    scenarios = list(report["results"])
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(series)
    for k, (name, label) in enumerate(series):
        values = [report["results"][s].get(name, {}).get(ratio_key, 0) for s in scenarios]
        ax.bar([i + k * width for i in range(len(scenarios))], values, width, label=label)
    ax.axhline(goal, color="red", linewidth=0.8, linestyle="--", label="goal")
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(scenarios))])
    ax.set_xticklabels(scenarios)
    ax.set_ylabel(ylabel)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    return path
