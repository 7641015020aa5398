/*
 * libFuzzer harness for what mirrorctl learns about a target, all of it
 * pod-controlled: OP_TARGET_INFO's reply decoder (mirror-query,
 * proto_get_target_info) and the line format mirrorctl parses from
 * mirror-query's output (target_info_parse). Input: one byte choosing
 * the reader (even: a reply payload, odd: lines), then its input. What
 * either accepts must hold only valid names, hostnames and volume paths,
 * and must come back the same through the line format.
 *
 * FUZZ-SOURCES: lib/proto-target.c lib/envmap.c lib/proto.c
 * FUZZ-SOURCES: lib/xmalloc.c lib/log.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/proto-target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct target_info *ti)
{
	struct target_info back;
	char *text;
	size_t i;

	if (!target_hostname_ok(ti->hostname))
		abort();
	for (i = 0; i < ti->nenv; i++)
		if (!target_env_ok(ti->environ[i]))
			abort();
	if (ti->environ[ti->nenv] != NULL || ti->volumes[ti->nvolumes] != NULL)
		abort();
	for (i = 0; i < ti->nvolumes; i++)
		if (!target_volume_ok(ti->volumes[i]))
			abort();
	text = target_info_format(ti);
	if (target_info_parse(text, strlen(text), &back) != 0 ||
	    strcmp(back.hostname, ti->hostname) != 0 ||
	    back.nenv != ti->nenv || back.nvolumes != ti->nvolumes)
		abort();
	for (i = 0; i < ti->nenv; i++)
		if (strcmp(back.environ[i], ti->environ[i]) != 0)
			abort();
	for (i = 0; i < ti->nvolumes; i++)
		if (strcmp(back.volumes[i], ti->volumes[i]) != 0)
			abort();
	target_info_free(&back);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target_info ti;
	struct proto_cur c;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] % 2 == 0) {
		c.p = data + 1;
		c.left = size - 1;
		rc = proto_get_target_info(&c, &ti);
	} else
		rc = target_info_parse((const char *)data + 1, size - 1, &ti);
	if (rc == 0) {
		check(&ti);
		target_info_free(&ti);
	} else if (ti.environ != NULL || ti.volumes != NULL)
		abort();
	return 0;
}
