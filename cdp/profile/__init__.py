"""The 360° profile: customer search, the profile's reads, the panels later apps register, its pages."""
