/* Path name shapes (pathname.h). */
#include "config.h"

#include <limits.h>
#include <string.h>

#include "pathname.h"

int
pathname_clean(const char *p)
{
	const char *c, *e;

	if (p[0] != '/' || strnlen(p, PATH_MAX) >= PATH_MAX)
		return 0;
	if (p[1] == '\0')
		return 1;
	for (c = p + 1; ; c = e + 1) {
		e = strchrnul(c, '/');
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.') ||
		    e - c > NAME_MAX)
			return 0;
		if (*e == '\0')
			return 1;
	}
}
