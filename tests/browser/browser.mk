# The browser tests' tools (tests/browser/): Debian's Chromium and playwright-core from npm, which
# drives it. Playwright's own browser download needs internet, so the test scripts point
# playwright-core at /usr/bin/chromium instead. Include this file from the main Makefile, or run it
# alone from the repository root:
#     make -f tests/browser/browser.mk browser

# Including this file must not change the including Makefile's default goal.
BROWSER_SAVED_GOAL := $(.DEFAULT_GOAL)

CHROMIUM := /usr/bin/chromium
BROWSER_DIR := tests/browser
# npm ci writes this file last, so it is the stamp of a complete node_modules.
BROWSER_MODULES := $(BROWSER_DIR)/node_modules/.package-lock.json
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends

.PHONY: browser browser-clean

browser: $(CHROMIUM) $(BROWSER_MODULES)

# The package lists are refreshed only when the install cannot find the package without it.
$(CHROMIUM):
	$(APT_INSTALL) chromium || { $(SUDO) apt-get update && $(APT_INSTALL) chromium; }
	$(CHROMIUM) --version

$(BROWSER_MODULES): $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund
	touch $@

browser-clean:
	rm -rf $(BROWSER_DIR)/node_modules

.DEFAULT_GOAL := $(BROWSER_SAVED_GOAL)
