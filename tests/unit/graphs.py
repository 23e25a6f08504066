"""What the layer tests share: a circle in a graph of who imports (or calls) whom."""


def assert_no_circle(graph, what="an import circle"):
    """graph: name -> the names it depends on. AssertionError naming the first circle."""
    done, path = set(), []

    def visit(name):
        if name in path:
            raise AssertionError("%s: %s" % (what, " -> ".join(path[path.index(name):] + [name])))
        if name in done:
            return
        path.append(name)
        for other in sorted(graph[name]):
            visit(other)
        path.pop()
        done.add(name)
    for name in sorted(graph):
        visit(name)
