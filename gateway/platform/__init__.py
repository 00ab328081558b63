"""What the platform gets from us: communities and the events we send."""
