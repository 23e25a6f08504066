/*   SPDX-License-Identifier: BSD-3-Clause
 *
 * The shim refuses a process whose SPDK is not the one it was built for,
 * before any of its code runs: another release (or build) has other struct
 * layouts, and the shim's callbacks would read garbage. The build recorded
 * that SPDK (spdk_py/tools/spdk_identity.py): its release, and the GNU
 * build-id and path of its libspdk_bdev.so.
 */

#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spdk_py_identity.h"

#define SHIM_BUILD_ID_MAX	64

struct shim_running {
	char	library[PATH_MAX];	/* the libspdk_bdev.so mapped, "" if none */
	char	build_id[2 * SHIM_BUILD_ID_MAX + 1];
	char	version[32];		/* from libspdk_event's "SPDK vX.Y" text */
};

static void
shim_read_build_id(struct dl_phdr_info *info, char *out)
{
	const ElfW(Phdr) *ph;
	const char *pos, *end;
	const ElfW(Nhdr) *note;
	const unsigned char *desc;
	int i, j;

	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_NOTE) {
			continue;
		}
		pos = (const char *)(info->dlpi_addr + ph->p_vaddr);
		end = pos + ph->p_memsz;
		while (pos + sizeof(*note) <= end) {
			note = (const ElfW(Nhdr) *)pos;
			desc = (const unsigned char *)pos + sizeof(*note) + ((note->n_namesz + 3) & ~3u);
			if (note->n_type == NT_GNU_BUILD_ID && note->n_namesz == 4 &&
			    memcmp(pos + sizeof(*note), "GNU", 4) == 0 &&
			    note->n_descsz <= SHIM_BUILD_ID_MAX) {
				for (j = 0; j < (int)note->n_descsz; j++) {
					sprintf(out + 2 * j, "%02x", desc[j]);
				}
				return;
			}
			pos = (const char *)desc + ((note->n_descsz + 3) & ~3u);
		}
	}
}

/* The release SPDK's app framework prints ("SPDK v20.07 ..."), found in its
 * read-only data; for the message only.
 */
static void
shim_read_version(struct dl_phdr_info *info, char *out, size_t size)
{
	const ElfW(Phdr) *ph;
	const char *seg, *hit;
	size_t len, n;
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_W) || !(ph->p_flags & PF_R)) {
			continue;
		}
		seg = (const char *)(info->dlpi_addr + ph->p_vaddr);
		len = ph->p_memsz;
		while ((hit = memmem(seg, len, "SPDK v", 6)) != NULL) {
			len -= hit + 6 - seg;
			seg = hit + 6;
			if (len > 0 && seg[0] >= '0' && seg[0] <= '9') {
				n = strspn(seg, "0123456789.-abcdefghijklmnopqrstuvwxyz");
				snprintf(out, size, "%.*s", (int)(n < size - 1 ? n : size - 1), seg);
				return;
			}
		}
	}
}

static int
shim_find_spdk(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct shim_running *running = arg;
	const char *base = strrchr(info->dlpi_name, '/');

	base = base ? base + 1 : info->dlpi_name;
	if (strncmp(base, "libspdk_bdev.so", 15) == 0 && running->library[0] == '\0') {
		if (realpath(info->dlpi_name, running->library) == NULL) {
			snprintf(running->library, sizeof(running->library), "%s", info->dlpi_name);
		}
		shim_read_build_id(info, running->build_id);
	} else if (strncmp(base, "libspdk_event.so", 16) == 0 && running->version[0] == '\0') {
		shim_read_version(info, running->version, sizeof(running->version));
	}
	return 0;
}

/* Before the shim's other constructors (its module registration among them). */
__attribute__((constructor(101))) static void
shim_check_identity(void)
{
	struct shim_running running = {};
	const char *built_id = SPDK_PY_BUILT_BUILD_ID;
	bool same;

	dl_iterate_phdr(shim_find_spdk, &running);
	if (running.library[0] == '\0') {
		return;	/* not an SPDK application (a wrapper the preload reached): not ours */
	}
	if (built_id[0] != '\0' && running.build_id[0] != '\0') {
		same = strcmp(built_id, running.build_id) == 0;
	} else {
		same = strcmp(SPDK_PY_BUILT_LIBRARY, running.library) == 0;
	}
	if (same) {
		return;
	}
	fprintf(stderr, "spdk_py: refusing to load: the shim was built for SPDK %s (%s, build-id %.16s) "
		"but this process runs SPDK %s (%s, build-id %.16s): rebuild the shim against it "
		"(SPDK_DIR=<that tree> spdk-py shim build)\n", SPDK_PY_BUILT_VERSION,
		SPDK_PY_BUILT_LIBRARY, built_id[0] ? built_id : "none",
		running.version[0] ? running.version : "(release unknown)", running.library,
		running.build_id[0] ? running.build_id : "none");
	fflush(stderr);
	_exit(1);
}
