/*
 * The layer's path rules (issue 12): the rules file mirrorctl writes for
 * `mirrorctl exec` (see ctx_layer_env in mirrorctl/ctx-layer.c), its
 * parser, and the decision for one path: local, served from the mount
 * (read-only or read-write), or "no such file". Pure: no hooks, no I/O,
 * so the fuzz harness (tests/fuzz/fuzz-layer-rules.c) runs the same
 * code the layer does.
 *
 * The file, text, one rule a line, fields split by one tab:
 *   mirror-layer-rules 1		first line
 *   root	/ABS/PATH		the target's root (the FUSE mount)
 *   mode	local|read|write
 *   map	PATTERN	REPLACEMENT	fs.mapping, first match wins
 *   not_found|read_write|read_only|local	PATTERN	the user's lists
 *   default_not_found|default_remote|default_local	PATTERN
 *   end				last line: a cut file is refused
 * A PATTERN that starts with '/' is a path prefix (the path itself and
 * all below it); with "~" it is one under $HOME; anything else is a
 * POSIX extended regex matched anywhere in the path (anchor it with ^);
 * in the lists a regex ignores case, as mirrord's do, in a map it does
 * not, and a prefix never does.
 * A regex mapping's REPLACEMENT may use \0..\9 for the match and its
 * groups; it replaces the matched part.
 */
#ifndef MIRROR_LAYER_RULES_H
#define MIRROR_LAYER_RULES_H

#include <limits.h>
#include <regex.h>
#include <stddef.h>

/* Not exported by libmirror-layer.so: the program sees only hooks. */
#define LAYER_RULES_API	__attribute__((visibility("hidden")))

#define LAYER_RULES_MAGIC	"mirror-layer-rules 1"
#define LAYER_RULES_FILE_MAX	(64 * 1024)	/* bytes */
#define LAYER_PATTERNS_MAX	64		/* per list */
#define LAYER_MAPPINGS_MAX	32
#define LAYER_RULE_MAX		1024		/* one pattern or replacement */
#define LAYER_REPEAT_MAX	1024		/* product of a regex's {bounds} */

/* The user's lists first: the order is mirrord's precedence. */
enum layer_tier {
	LAYER_T_NOT_FOUND,
	LAYER_T_READ_WRITE,
	LAYER_T_READ_ONLY,
	LAYER_T_LOCAL,
	LAYER_T_DEF_NOT_FOUND,
	LAYER_T_DEF_REMOTE,
	LAYER_T_DEF_LOCAL,
	LAYER_T_N
};

enum layer_mode { LAYER_MODE_LOCAL, LAYER_MODE_READ, LAYER_MODE_WRITE };

/* What a path is. */
enum layer_class {
	LAYER_LOCAL,		/* the local file */
	LAYER_REMOTE_RO,	/* the target's, writes get EROFS */
	LAYER_REMOTE_RW,	/* the target's */
	LAYER_NOT_FOUND		/* ENOENT */
};

struct layer_pattern {
	char	*prefix;	/* normalised; NULL for a regex */
	size_t	 len;
	char	*src;		/* a regex's text */
	regex_t	 re;
};

struct layer_mapping {
	struct layer_pattern	 from;
	char			*to;
};

struct layer_rules {
	char			 root[PATH_MAX];	/* normalised, "" if none */
	size_t			 rootlen;
	enum layer_mode		 mode;
	struct layer_mapping	 maps[LAYER_MAPPINGS_MAX];
	int			 nmaps;
	struct layer_pattern	 pats[LAYER_T_N][LAYER_PATTERNS_MAX];
	int			 npats[LAYER_T_N];
	/* A list's regexes as one "(a)|(b)|...": one match instead of one
	 * per regex (a call of the layer's is that much cheaper). */
	regex_t			 any[LAYER_T_N];
	int			 has_any[LAYER_T_N];
};

/* Writes the absolute path to out (size sz) with empty and "."
 * components dropped and each ".." removing the one before it (none
 * above "/"). Lexical only. 0, or -ENAMETOOLONG if out is too small. */
LAYER_RULES_API int layer_normalise(const char *path, char *out, size_t sz);

/* Parses the rules file text (len bytes, not NUL-terminated) into r,
 * which the caller zeroes first; home ($HOME, absolute or NULL) expands
 * "~" patterns. 0, or -EINVAL with the 1-based bad line in *line. On
 * error r holds what was parsed: free it with layer_rules_free. */
LAYER_RULES_API int layer_rules_parse(struct layer_rules *r,
	    const char *text, size_t len, const char *home, int *line);
/* Adds a pattern in the file's syntax (a path, "~/...", or a regex) to
 * list t. 0; 1 if it is "~..." and home is NULL (left out); -EINVAL if
 * it does not compile or is too costly; -ENOSPC if the list is full. */
LAYER_RULES_API int layer_rules_add(struct layer_rules *r, enum layer_tier t,
	    const char *pattern, const char *home);
/* 1 if list t holds path (absolute, normalised): a prefix of it (or
 * path itself), or a regex that matches it; else 0. */
LAYER_RULES_API int layer_rules_in(const struct layer_rules *r,
	    enum layer_tier t, const char *path);
/* Adds a path prefix (cwd, the program's directory...) to a list. */
LAYER_RULES_API int layer_rules_add_prefix(struct layer_rules *r,
	    enum layer_tier t, const char *path);
LAYER_RULES_API void layer_rules_free(struct layer_rules *r);

/* Decides for path (absolute, normalised) after fs.mapping: *cls, and in
 * out (size sz) the path to use: the mapped one when local, the one under
 * root when remote. 0, or -ENAMETOOLONG. A path under root itself is
 * local and unchanged. */
LAYER_RULES_API int layer_rules_resolve(const struct layer_rules *r,
	    const char *path, char *out, size_t sz, enum layer_class *cls);

#endif
