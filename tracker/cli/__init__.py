"""The command line: parse, call one service function, render, map errors to exit codes."""
