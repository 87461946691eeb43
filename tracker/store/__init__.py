"""The files of a tracker: the working tree and, through pygit2, the repository."""
