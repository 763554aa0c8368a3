# kino: the two commands a user needs.
#   make run    install what is missing, build, and start the server on 127.0.0.1:8080
#   make test   install what is missing, build with sanitizers, run every test
# Everything else is Meson + Ninja underneath (build/ and build-test/).

BUILD      ?= build
TEST_BUILD ?= build-test
ARGS       ?=

.PHONY: all deps test-deps build run test unit e2e clean

all: build

deps:
	@sh scripts/install-deps.sh

test-deps:
	@sh scripts/install-deps.sh --test

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	./$(BUILD)/kino serve $(ARGS)

$(TEST_BUILD)/build.ninja:
	meson setup $(TEST_BUILD) --buildtype=debugoptimized -Db_sanitize=address,undefined \
		-Db_lundef=false -Dwerror=true

test: test-deps $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)
	meson test -C $(TEST_BUILD) --print-errorlogs --num-processes 2

unit: test-deps $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)
	meson test -C $(TEST_BUILD) --print-errorlogs --suite unit

e2e: test-deps $(TEST_BUILD)/build.ninja
	ninja -C $(TEST_BUILD)
	meson test -C $(TEST_BUILD) --print-errorlogs --suite e2e

clean:
	rm -rf $(BUILD) $(TEST_BUILD)
