/*
 * libFuzzer harness for the agent's file request dispatch: the real
 * agent_fs_serve (agent/fs.c, the handlers of agent/fs-*.c, the
 * confinement of agent/confine.c) with requests made from the input,
 * over a scratch root in /tmp served twice, read-only and read-write, as
 * mirror-agent serves it. An input is a run of records
 *   u8 flags (bit 0: the read-write root), u8 op, u16 length (LE),
 *   payload
 * each framed with a real header and decoded by proto_hdr_decode, then
 * served with the connection's open files kept across the records (so a
 * CREATE or OPEN can be followed by READ, WRITE, LOCK on its handle).
 * A reply must finish as a well-formed message; a request that does not
 * decode must be refused with -EBADMSG, never crash the agent.
 *
 * FUZZ-SOURCES: agent/fs.c agent/fs-read.c agent/fs-write.c
 * FUZZ-SOURCES: agent/fs-lock.c agent/confine.c lib/proto.c lib/proto-fs.c
 * FUZZ-SOURCES: lib/log.c
 * FUZZ-SOURCES: lib/xmalloc.c agent/fs-watch.c
 * FUZZ-FLAGS:
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../agent/fs.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct agent_fs ro, rw;
static uint8_t msg[PROTO_HDR_LEN + 65536];

static void
scratch(const char *dir)
{
	int fd;

	if (chdir(dir) < 0 || mkdir("etc", 0755) < 0 ||
	    mkdir("d", 0755) < 0 || mkdir("d/e", 0755) < 0 ||
	    symlink("/etc/passwd", "abs") < 0 ||
	    symlink("../../../../etc", "d/up") < 0 ||
	    symlink("x/../etc", "d/dots") < 0 || mkfifo("fifo", 0644) < 0 ||
	    (fd = open("etc/passwd", O_WRONLY | O_CREAT, 0644)) < 0) {
		perror("fuzz-agent-fs: scratch root");
		exit(1);
	}
	if (write(fd, "root:x:0:0::/root:/bin/sh\n", 26) != 26)
		exit(1);
	close(fd);
	if (chdir("/") < 0)
		exit(1);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/fuzz-agent-fs.XXXXXX";

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		exit(1);
	scratch(dir);
	if (agent_fs_open_root(&ro, dir, 0) < 0 ||
	    agent_fs_open_root(&rw, dir, 0) < 0)
		exit(1);
	rw.writable = 1;
	return 0;
}

/* Requests that would fill the disk of the machine running the fuzzer,
 * not bugs of the agent: left out. */
static int
too_costly(unsigned int op, const uint8_t *p, size_t n)
{
	uint64_t len = 0;

	if (op == OP_FALLOCATE && n >= 28) {
		memcpy(&len, p + 20, 8);
		return len > (1u << 20);
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct agent_files files;
	struct proto_hdr h;
	struct proto_cur c;
	struct proto_buf out;
	uint32_t id = 1;
	int rc;

	agent_files_init(&files);
	while (size >= 4) {
		uint8_t flags = data[0], op = data[1];
		size_t n = (size_t)data[2] | (size_t)data[3] << 8;

		data += 4;
		size -= 4;
		if (n > size)
			n = size;
		if (op >= OP_NET_INFO || too_costly(op, data, n))
			goto next;
		proto_hdr_encode(msg, MSG_REQUEST, op, id++, 0, (uint32_t)n);
		memcpy(msg + PROTO_HDR_LEN, data, n);
		if (proto_hdr_decode(msg, PROTO_HDR_LEN + n, &h, &c) < 0)
			goto next;
		proto_buf_init(&out, h.op == OP_READ ? PROTO_MSG_MAX : 512);
		rc = agent_fs_serve((flags & 1) ? &rw : &ro, &files, &h, &c,
		    &out);
		if (rc == 0 && proto_finish(&out) < 0) {
			fprintf(stderr, "fuzz-agent-fs: %s reply does not "
			    "finish\n", proto_op_name(op));
			abort();
		}
		if (rc != 0 && rc != -EBADMSG) {
			fprintf(stderr, "fuzz-agent-fs: %s: %d\n",
			    proto_op_name(op), rc);
			abort();
		}
		proto_buf_free(&out);
next:
		data += n;
		size -= n;
	}
	agent_files_close_all(&files);
	return 0;
}
