"""The chat platforms' clients: one small class per platform behind ``base.Platform``."""
