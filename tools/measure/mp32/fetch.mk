# tools/measure/mp32: get a working gcc -m32 and the MicroPython sdist (included by Makefile).

.PHONY: fetch compiler
fetch: compiler $(MPTOP)/py/mkenv.mk

# gcc -m32 needs the 32-bit libc and libgcc (Debian: gcc-multilib).
compiler:
	@if ! printf 'int main(void){return 0;}\n' | gcc -m32 -x c - -o /dev/null 2>/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "mp32: gcc -m32 does not link; apt-get install gcc-multilib"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc-multilib >/dev/null || exit 1; \
	  else \
	    echo "mp32: gcc -m32 does not link: install gcc-multilib (apt-get install gcc-multilib) or run as root"; \
	    exit 1; \
	  fi; \
	fi

$(OUT)/$(MP_SDIST).tar.gz:
	@mkdir -p $(OUT)
	@echo "mp32: pip download $(MP_DIST)==$(MP_VERSION) (sdist)"
	@$(PIP_PYTHON) -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
	  -d $(OUT) $(MP_DIST)==$(MP_VERSION)
	@echo "$(MP_SHA256)  $@" | sha256sum -c --quiet - || { rm -f $@; echo "mp32: sha256 mismatch"; exit 1; }

$(MPTOP)/py/mkenv.mk: $(OUT)/$(MP_SDIST).tar.gz
	@tar -xzf $< -C $(OUT)
	@test -f $@ && touch $@
