# Two commands for a newcomer: `make scan` and `make test`. Both build Lindera's IPADIC offline
# first (scripts/ipadic-cache.sh: Debian's mecab-ipadic + lindera's own builder).

.PHONY: scan test dict build

dict:
	scripts/ipadic-cache.sh

build: dict
	cargo build --release

# Scan the committed sample dump with the embedded default model.
scan: build
	./target/release/patrol scan datasets/sample.jsonl

# Unit, integration and doc tests, in release mode (the model tests need the speed).
test: dict
	cargo test --release
