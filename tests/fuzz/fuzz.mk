# tests/fuzz/fuzz.mk — makefile fragment included by the top-level Makefile.
# Owns everything under build/fuzz/: the libFuzzer targets (clang, built from
# their own instrumented objects in build/fuzz/obj, never mixed with the gcc
# objects of build/rel and build/asan) and the gcc + ASan/UBSan replay builds
# of the same targets (build/fuzz/gcc) that `make check` runs on the corpus.
#
#   make fuzz                    build, then fuzz every target FUZZ_SECONDS each
#   make fuzz FUZZ_TARGETS=dns   just one (or a few) of them
#   make fuzz-build              build only
#
# Adds the replay binaries to `check` (the only hook besides the include line
# and one tests/run.sh argument in the Makefile).

FUZZ_DIR      := tests/fuzz
FUZZ_ALL      := addr smtp_reply ehlo csv dns world sniff utf16
FUZZ_TARGETS  ?= $(FUZZ_ALL)
FUZZ_SECONDS  ?= 600
FUZZ_CLANG    ?= clang
# Extra flags for the libFuzzer builds only, e.g. -DFUZZ_SKIP_KNOWN_BUGS to
# let a campaign look past bugs that already have a bug-* reproducer.
FUZZ_CFLAGS   ?=

FUZZ_CPPFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -I$(FUZZ_DIR)
FUZZ_SAN      := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# src/ is compiled without -Werror here: a clang-only warning in code that
# others own must not break the fuzz build; the harness itself is -Werror.
FUZZ_OBJFLAGS := -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wall -Wextra
FUZZ_HFLAGS   := -O1 -g $(FUZZ_SAN) -Wall -Wextra -Werror
FUZZ_HDRS     := $(FUZZ_DIR)/fuzz.h $(wildcard include/*.h) $(wildcard tests/mailsim/*.h)

# What each target links, and its libraries.
fuzz_addr_SRC       := src/addr.c src/dedup.c
fuzz_addr_LIBS      := -lidn2 -lunistring
fuzz_smtp_reply_SRC := src/smtp_reply.c
fuzz_ehlo_SRC       := src/smtp_reply.c
fuzz_csv_SRC        := src/csvio.c src/str.c src/sniff.c src/utf16.c
fuzz_csv_LIBS       := -lcsv -lpthread
fuzz_dns_SRC        := src/dns.c src/dns_addr.c src/dns_cache.c src/dns_cname.c src/dns_mxset.c \
                       src/htab.c src/str.c
fuzz_dns_LIBS       := -lcares -luv
fuzz_sniff_SRC      := src/sniff.c
fuzz_utf16_SRC      := src/utf16.c
fuzz_world_SRC      := tests/mailsim/world.c tests/mailsim/table.c
fuzz_world_INC      := -Itests/mailsim
fuzz_world_LIBS     := -lpsl

FUZZ_BINS   := $(FUZZ_ALL:%=build/fuzz/fuzz_%)
FUZZ_REPLAY := $(FUZZ_ALL:%=build/fuzz/gcc/fuzz_%)

.PHONY: fuzz fuzz-build fuzz-replay deps-fuzz

# clang and libFuzzer: installed by `make fuzz`, not needed by `make check`.
deps-fuzz:
	@sh scripts/deps.sh --check --fuzz 2>/dev/null || sh scripts/deps.sh --fuzz

build/fuzz/obj/%.o: %.c $(FUZZ_HDRS) | deps-auto deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CLANG) $(FUZZ_CPPFLAGS) $(if $(findstring mailsim,$<),-Itests/mailsim) $(FUZZ_OBJFLAGS) -c -o $@ $<

build/fuzz/gcc/obj/%.o: %.c $(FUZZ_HDRS) | deps-auto
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CPPFLAGS) $(if $(findstring mailsim,$<),-Itests/mailsim) -O1 -g $(FUZZ_SAN) -Wall -Wextra -c -o $@ $<

# One rule pair per target: libFuzzer build and replay build.
define FUZZ_TARGET_RULES
build/fuzz/fuzz_$(1): $(FUZZ_DIR)/fuzz_$(1).c $$(fuzz_$(1)_SRC:%.c=build/fuzz/obj/%.o) $(FUZZ_HDRS)
	@mkdir -p $$(@D)
	$(FUZZ_CLANG) $(FUZZ_CPPFLAGS) $$(fuzz_$(1)_INC) $(FUZZ_HFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $$@ \
	  $(FUZZ_DIR)/fuzz_$(1).c $$(fuzz_$(1)_SRC:%.c=build/fuzz/obj/%.o) $$(fuzz_$(1)_LIBS)

build/fuzz/gcc/fuzz_$(1): $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/replay.c $$(fuzz_$(1)_SRC:%.c=build/fuzz/gcc/obj/%.o) $(FUZZ_HDRS)
	@mkdir -p $$(@D)
	$(CC) $(FUZZ_CPPFLAGS) $$(fuzz_$(1)_INC) $(FUZZ_HFLAGS) -o $$@ \
	  $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/replay.c $$(fuzz_$(1)_SRC:%.c=build/fuzz/gcc/obj/%.o) $$(fuzz_$(1)_LIBS)
endef
$(foreach t,$(FUZZ_ALL),$(eval $(call FUZZ_TARGET_RULES,$(t))))

fuzz-build: $(FUZZ_BINS) $(FUZZ_REPLAY)

fuzz-replay: $(FUZZ_REPLAY)
	@sh $(FUZZ_DIR)/replay.sh

# libFuzzer and clang come from scripts/packages.txt (clang, libclang-rt-14-dev).
fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
	@sh $(FUZZ_DIR)/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# `make check` replays the corpus with these (see tests/fuzz/replay.sh).
check: $(FUZZ_REPLAY)
