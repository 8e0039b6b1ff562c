# SPDX-License-Identifier: MIT
# End-to-end tests of the local and tmux backends (included from CMakeLists.txt).
spmi_add_cli_test(backend_local)
spmi_add_cli_test(backend_tmux)
spmi_add_cli_test(backend_slurm)
spmi_add_cli_test(slurm_array)
spmi_add_cli_test(remote_host)
