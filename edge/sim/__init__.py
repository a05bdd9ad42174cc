"""Simulated wearables: scripted physiology encoded exactly as the real characteristics are."""
