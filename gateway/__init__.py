"""SMS relay gateway: two parties text a community number and each sees only that number."""
