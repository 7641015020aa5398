/*
 * OP_TARGET_INFO on the agent's side: the target's hostname, environment
 * and volume mount points (agent/target-info.c).
 */
#ifndef MIRROR_AGENT_TARGET_INFO_H
#define MIRROR_AGENT_TARGET_INFO_H

#include "fs.h"
#include "proto.h"

/* Serves one request (empty payload) for the target process pid (0: a
 * directory, which has no process: no environment, no volumes); the
 * reply is built in out. 0, or -EBADMSG if the payload was not empty. */
int	agent_target_info_serve(struct agent_fs *fs, int pid,
	    const struct proto_hdr *h, struct proto_cur *c,
	    struct proto_buf *out);

#endif
