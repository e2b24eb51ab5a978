"""The command line: parses arguments and calls the API, nothing else. One module per verb."""
