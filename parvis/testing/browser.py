"""Browser journeys: Playwright driving Debian's Chromium, with an axe-core check.
(Placeholder replaced by the browser-journey work.)"""
