"""Durable deployment execution: plans of steps, leases, timers, one door for state changes."""
