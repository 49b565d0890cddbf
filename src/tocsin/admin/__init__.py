"""Administration use cases that cross domains: deactivating people, archiving and deleting what others name."""
