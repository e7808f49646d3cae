# tests/mailsim/mailsim.mk — makefile fragment included by the top-level
# Makefile. Builds the simulated mail world (tests/mailsim/mailsim) and runs
# its tests. Self-contained: defines its own flags.

MAILSIM_DIR := tests/mailsim
MAILSIM_SRCS := $(wildcard $(MAILSIM_DIR)/*.c)
MAILSIM_HDRS := $(wildcard $(MAILSIM_DIR)/*.h)
MAILSIM_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror $(MAILSIM_SAN)
MAILSIM_LIBS := -luv -lssl -lcrypto -lpsl -lm

$(MAILSIM_DIR)/mailsim: $(MAILSIM_SRCS) $(MAILSIM_HDRS) $(MAILSIM_DIR)/mailsim.mk
	$(CC) $(MAILSIM_CFLAGS) -o $@ $(MAILSIM_SRCS) $(MAILSIM_LIBS)

# the same program under AddressSanitizer/UBSan (the tests run this one too)
$(MAILSIM_DIR)/mailsim-asan: $(MAILSIM_SRCS) $(MAILSIM_HDRS) $(MAILSIM_DIR)/mailsim.mk
	$(CC) $(MAILSIM_CFLAGS) -fsanitize=address,undefined -fno-omit-frame-pointer -o $@ $(MAILSIM_SRCS) $(MAILSIM_LIBS)

.PHONY: mailsim-check mailsim-asan
mailsim-asan: $(MAILSIM_DIR)/mailsim-asan

mailsim-check: $(MAILSIM_DIR)/mailsim $(MAILSIM_DIR)/mailsim-asan
	bash $(MAILSIM_DIR)/run-tests.sh
