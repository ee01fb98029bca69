"""Headless Debian Chromium through selenium, for the docs screenshots."""

from __future__ import annotations


def chromium(width: int = 1280, height: int = 1100):
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--window-size={width},{height}",
                 "--disable-background-networking", "--disable-component-update"):
        options.add_argument(flag)
    options.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(service=webdriver.ChromeService("/usr/bin/chromedriver"), options=options)
