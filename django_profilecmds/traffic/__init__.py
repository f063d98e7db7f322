"""Response times that production logs already hold, read for analysis without a replay."""
