#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# membership.sh with the fallback forced (SPMI_MEMBERSHIP=fallback): no cgroup, the wrapper's tree.
SPMI_TEST_MEMBERSHIP=fallback exec bash "$(dirname "$0")/membership.sh"
