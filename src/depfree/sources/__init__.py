"""Where bytes come from: a file on disk (here), later directories, archives and images."""
