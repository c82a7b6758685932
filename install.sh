#!/bin/sh
# leash installer: not written yet. Fails (exit 2) so that nothing relies on it.
set -eu
echo "install.sh: not yet implemented — see README (issue: install.sh and leash doctor)" >&2
exit 2
