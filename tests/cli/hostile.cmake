spmi_add_cli_test(hostile)
