# Prerequisites: idempotent, cached in .cache/ (scripts/setup.sh does the work).
SETUP_STAMP := $(CACHE)/setup-base.stamp

.PHONY: setup setup-base
setup: setup-base
setup-base: $(SETUP_STAMP)
$(SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh base
	@mkdir -p $(CACHE) && touch $@
