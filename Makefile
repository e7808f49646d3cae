# mailvet — top-level build.  `make` builds ./mailvet, `make check` runs every
# test (plain, then under AddressSanitizer + UBSan), `make demo` runs the main
# job on the bundled world, `make bench` prints the benchmark table.
# Missing Debian packages are installed by scripts/deps.sh (`make deps`).

VERSION   := 0.1.0
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
DATADIR   ?= $(PREFIX)/share/mailvet
MANDIR    ?= $(PREFIX)/share/man
CC        ?= cc

WARN      := -Wall -Wextra -Werror
CPPFLAGS  := -std=c11 -D_GNU_SOURCE -Iinclude -DMAILVET_VERSION=\"$(VERSION)\" \
             -DMAILVET_DATADIR=\"$(DATADIR)\"
CFLAGS    ?= -O2 -g
ASANFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LIBS      := -luv -lcares -lssl -lcrypto -lsqlite3 -lcsv -lidn2 -lunistring -lpsl -lm -lpthread
TESTLIBS  := -lcmocka

SRC       := $(wildcard src/*.c)
LIBSRC    := $(filter-out src/main.c,$(SRC))
UNITSRC   := $(wildcard tests/unit/test_*.c)
HDRS      := $(wildcard include/*.h)

REL_OBJ   := $(SRC:src/%.c=build/rel/%.o)
ASAN_OBJ  := $(SRC:src/%.c=build/asan/%.o)
REL_LIB   := $(filter-out build/rel/main.o,$(REL_OBJ))
ASAN_LIB  := $(filter-out build/asan/main.o,$(ASAN_OBJ))
REL_UNIT  := $(UNITSRC:tests/unit/%.c=build/rel/tests/%)
ASAN_UNIT := $(UNITSRC:tests/unit/%.c=build/asan/tests/%)
NETSRC    := $(wildcard tests/net/*.c)
REL_NET   := $(NETSRC:tests/net/%.c=build/rel/net/%)
ASAN_NET  := $(NETSRC:tests/net/%.c=build/asan/net/%)

.PHONY: all deps deps-auto debroot check unit-check cli-check bench soak valgrind-check demo install uninstall clean

all: mailvet

# Installs only what is missing; quick when everything is present. Exim and
# OpenSMTPD conflict with postfix: scripts/debroot.sh unpacks them under
# build/debroot/ for tests/net/exim.sh and opensmtpd.sh instead.
deps:
	@sh scripts/deps.sh
	@sh scripts/debroot.sh

# Before the tests; when it fails (no package registry), exim.sh and
# opensmtpd.sh fail saying so and the rest still run.
debroot:
	@sh scripts/debroot.sh || echo "debroot: Exim/OpenSMTPD not unpacked; tests/net/exim.sh and opensmtpd.sh will fail" >&2

deps-auto:
	@sh scripts/deps.sh --check 2>/dev/null || sh scripts/deps.sh

mailvet: $(REL_OBJ) | deps-auto
	$(CC) $(CFLAGS) -o $@ $(REL_OBJ) $(LIBS)

build/asan/mailvet: $(ASAN_OBJ) | deps-auto
	$(CC) $(ASANFLAGS) -o $@ $(ASAN_OBJ) $(LIBS)

build/rel/%.o: src/%.c $(HDRS) | deps-auto
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

build/asan/%.o: src/%.c $(HDRS) | deps-auto
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(ASANFLAGS) -c -o $@ $<

build/rel/tests/%: tests/unit/%.c $(REL_LIB) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(REL_LIB) $(LIBS) $(TESTLIBS)

build/asan/tests/%: tests/unit/%.c $(ASAN_LIB) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(ASANFLAGS) -o $@ $< $(ASAN_LIB) $(LIBS) $(TESTLIBS)

# Integration-test drivers (tests/net/*.c): linked like the unit tests.
build/rel/net/%: tests/net/%.c $(REL_LIB) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(REL_LIB) $(LIBS)

build/asan/net/%: tests/net/%.c $(ASAN_LIB) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(ASANFLAGS) -o $@ $< $(ASAN_LIB) $(LIBS)

# Test tools (tests/tools/*.c), e.g. the ground-truth scorer.
build/rel/tools/%: tests/tools/%.c $(REL_LIB) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -o $@ $< $(REL_LIB) $(LIBS)

-include tests/mailsim/mailsim.mk
-include tests/fuzz/fuzz.mk

# Every test program, plain and sanitized; tests/run.sh runs them JOBS at a
# time (`make check JOBS=1` for one after another) and prints the tally.
# Every tests/net/*.sh but lib.sh and run.sh is a job of its own, once per
# build; NET_SLOW (the longest, measured) start first, the rest after them
# in name order, then the quick suites, so the run ends with the short jobs.
NETSH     := $(filter-out tests/net/lib.sh tests/net/run.sh,$(wildcard tests/net/*.sh))
NET_SLOW  := postscreen tarpit resume-kill faults clean-world proxy hostile mailsim-check postfix shard routes doctor evidence
NET_ORDER := $(filter $(NETSH),$(NET_SLOW:%=tests/net/%.sh)) \
             $(filter-out $(NET_SLOW:%=tests/net/%.sh),$(NETSH))
NET_JOBS  := $(foreach t,$(NET_ORDER),"net:sh $(t) build/asan" "net:sh $(t) build/rel")
JOBS      ?= 6

check: mailvet build/asan/mailvet $(REL_UNIT) $(ASAN_UNIT) $(REL_NET) $(ASAN_NET) \
       tests/mailsim/mailsim tests/mailsim/mailsim-asan build/rel/tools/score debroot
	@JOBS=$(JOBS) sh tests/run.sh \
	  $(NET_JOBS) \
	  "mailsim:bash tests/mailsim/run-tests.sh" \
	  "cli:env MAILVET_DATA=$(CURDIR)/data tests/cli/run.sh build/asan/mailvet" \
	  "cli:tests/cli/run.sh ./mailvet" \
	  "fuzz:sh tests/fuzz/replay.sh" \
	  "install:sh tests/install-test.sh" \
	  $(foreach t,$(ASAN_UNIT) $(REL_UNIT),"unit:$(t)")

build/bench/gencsv: tests/bench/gencsv.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) -O2 -o $@ $< -lm

bench: mailvet build/bench/gencsv tests/mailsim/mailsim build/rel/tools/score
	@sh tests/bench/run.sh ./mailvet build/bench/gencsv tests/mailsim/mailsim build/rel/tools/score

# A long run under a memory cap: RSS must plateau (README "Reliability").
soak: mailvet tests/mailsim/mailsim build/rel/tools/score
	@sh tests/bench/soak.sh ./mailvet tests/mailsim/mailsim build/rel/tools/score
	@sh tests/bench/soak.sh ./mailvet tests/mailsim/mailsim build/rel/tools/score "" "" "" b2b

# The integration scripts with the release binary under valgrind (memory
# errors and leaks fail the run); slow, so not part of `make check`.
valgrind-check: mailvet tests/mailsim/mailsim build/rel/tools/score
	@sh tests/valgrind/run.sh

demo: mailvet tests/mailsim/mailsim build/rel/tools/score
	@sh scripts/demo.sh ./mailvet

install: mailvet
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR) $(DESTDIR)$(MANDIR)/man1
	install -m 0755 mailvet $(DESTDIR)$(BINDIR)/mailvet
	install -m 0644 data/*.txt data/*.tsv data/SOURCES.md $(DESTDIR)$(DATADIR)/
	install -m 0644 man/mailvet.1 $(DESTDIR)$(MANDIR)/man1/mailvet.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/mailvet $(DESTDIR)$(MANDIR)/man1/mailvet.1
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf build mailvet
