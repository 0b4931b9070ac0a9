#!/usr/bin/env bash
# One assert() or abort() in any thread of kxend ends every domain it runs,
# so the code linked into kxend (src/ except the xl client) calls none of
# assert, abort, exit and their kin: bad guest input gets an error code, a
# fault or the end of that one domain; a broken internal invariant is
# counted and backed out (see src/sched/invariants.h).  kxend's main()
# returns its status rather than calling exit().
#
# Exit 0 pass, 1 fail (naming each call).
set -u
cd "$(dirname "$0")/../.."
pattern='(^|[^A-Za-z0-9_])(assert|abort|exit|_exit|_Exit|quick_exit|__builtin_trap)[[:space:]]*\(|#[[:space:]]*include[[:space:]]*<assert\.h>'
# (comment lines, which only talk about exits, are left out)
hits=$(grep -rnE "$pattern" --include='*.c' --include='*.h' --include='*.S' src |
	grep -v '^src/xl/' | grep -vE '(_Static_assert|static_assert)[[:space:]]*\(' |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*(\*|//|/\*)' || true)
if [ -n "$hits" ]; then
	echo "FAIL: fatal calls in code that runs in kxend:"
	echo "$hits"
	exit 1
fi
echo "ok: no assert/abort/exit in kxend's code ($(find src -name '*.c' -not -path 'src/xl/*' | wc -l) files)"
