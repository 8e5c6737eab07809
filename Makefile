# tlsdiag build.  `./bootstrap demo` and `./bootstrap check` are the front doors (see
# README); this Makefile is what they drive.
#
#   make            release build: build/tlsdiag, build/libtlsdiag.a
#   make san        the same under ASan+UBSan in build-san/
#   make tsan       build-tsan/tlsdiag under ThreadSanitizer, with `read -j`'s
#                   bound on results in flight at 2 (lib/timeline/shard.c), so
#                   that nearly every hand-over goes through its waits
#   make unit       build and run the cmocka unit tests (MODE=san for sanitizers)
#   make check      the whole test suite (tests/run-all.sh)
#   make demo       read the bundled sample captures
#   make install    the binary to $(DESTDIR)$(PREFIX)/bin and the man page to
#                   $(DESTDIR)$(PREFIX)/share/man/man1 (PREFIX=/usr/local);
#                   make uninstall removes them
#   make fuzz       build the libFuzzer harnesses (clang) and run each briefly
#   make fuzz-replay the same harnesses without libFuzzer (this compiler):
#                   $(BUILD)/fuzz/fuzz_NAME FILE|DIR... replays inputs

CC ?= cc
PKG_CONFIG ?= pkg-config
MODE ?= release
BUILD ?= build

PKGS := libpcap libssl libcrypto zlib
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# GCC on x86-64 clears structs of known size with `rep stos` (its generic
# tuning), which is slow to start for the few hundred bytes a parser clears
# per message: small ones as vector stores, large ones through libc's memset.
# read -q 7% less CPU, --json 5% (bench/PROFILE.md).  Only where the compiler
# takes the option.
MEMSET_STRATEGY := $(shell $(CC) -mmemset-strategy=vector_loop:512:noalign,libcall:-1:noalign \
        -S -o /dev/null -x c /dev/null 2>/dev/null && echo -mmemset-strategy=vector_loop:512:noalign,libcall:-1:noalign)

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wvla -Wformat=2 -Wimplicit-fallthrough -Wconversion -Wsign-conversion -Werror
ifeq ($(MODE),san)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDOPT := -fsanitize=address,undefined
else ifeq ($(MODE),tsan)
OPT := -O1 -g -fsanitize=thread -DTD_SHARD_PEND_HIGH=2
LDOPT := -fsanitize=thread
else
OPT := -O2 -g $(MEMSET_STRATEGY)
LDOPT :=
endif

CPPFLAGS += -Iinclude -Ilib -Ilib/registry -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
CFLAGS += -std=c11 $(WARN) $(OPT) -pthread $(PKG_CFLAGS)
LDFLAGS += $(LDOPT) -pthread
LIBS := $(PKG_LIBS) -lm

LIB_SRC := $(sort $(wildcard lib/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/registry_tables.o $(BUILD)/gen/clients_data.o
CLI_SRC := $(sort $(wildcard src/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
IANA := $(sort $(wildcard data/iana/*.csv))
CLIENTS := $(sort $(wildcard data/clients/*.client))

.PHONY: all san tsan unit check demo fuzz fuzz-replay clean deps install uninstall
all: $(BUILD)/tlsdiag

$(BUILD)/gen/registry_tables.c: tools/gen-registry.awk $(IANA)
	@mkdir -p $(@D)
	awk -f tools/gen-registry.awk $(IANA) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/registry_tables.o: $(BUILD)/gen/registry_tables.c lib/registry/registry_tables.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# the client simulation data (lib/probe/clients.c), embedded as bytes
$(BUILD)/gen/clients_data.c: tools/gen-clients.sh $(CLIENTS)
	@mkdir -p $(@D)
	sh tools/gen-clients.sh $(CLIENTS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/clients_data.o: $(BUILD)/gen/clients_data.c lib/probe/clients_data.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libtlsdiag.a: $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tlsdiag: $(CLI_OBJ) $(BUILD)/libtlsdiag.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libtlsdiag.a $(LIBS)

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/lib -DTD_UNITTEST $(CFLAGS) $(CMOCKA_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TESTLIB_OBJ) $(BUILD)/libtlsdiag.a
	$(CC) $(LDFLAGS) -o $@ $< $(TESTLIB_OBJ) $(BUILD)/libtlsdiag.a $(CMOCKA_LIBS) $(LIBS)

$(BUILD)/fuzz/%.o: tests/fuzz/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/fuzz $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/fuzz_%.o $(BUILD)/fuzz/replay_main.o $(BUILD)/libtlsdiag.a
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/fuzz/replay_main.o $(BUILD)/libtlsdiag.a $(LIBS)

fuzz-replay: $(FUZZ_BIN)

.PRECIOUS: $(BUILD)/fuzz/%.o

unit: $(UNIT_BIN) $(BUILD)/tlsdiag
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

san:
	$(MAKE) MODE=san BUILD=build-san all

tsan:
	$(MAKE) MODE=tsan BUILD=build-tsan build-tsan/tlsdiag

check:
	sh tests/run-all.sh

demo: $(BUILD)/tlsdiag
	sh tools/demo.sh $(BUILD)/tlsdiag

fuzz:
	sh tests/fuzz/build.sh

clean:
	rm -rf build build-san build-tsan build-fuzz

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
INSTALL ?= install

install: $(BUILD)/tlsdiag
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/tlsdiag $(DESTDIR)$(BINDIR)/tlsdiag
	$(INSTALL) -m 644 docs/tlsdiag.1 $(DESTDIR)$(MANDIR)/man1/tlsdiag.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/tlsdiag $(DESTDIR)$(MANDIR)/man1/tlsdiag.1

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TESTLIB_OBJ:.o=.d) $(UNIT_BIN:%=%.d) $(FUZZ_BIN:%=%.d)
