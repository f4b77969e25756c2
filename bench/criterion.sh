#!/usr/bin/env bash
# Per-request cost through a full tower stack (benches/layer.rs), then a table of the layer's
# added cost as a ratio of one `jsonwebtoken::decode`, all from the same run.
#
#   bench/criterion.sh                        # the whole suite, a few minutes
#   bench/criterion.sh 'stack/layer_hit'      # a filter, passed on to criterion
#
# Each case: 1 s warm-up, 3 s measurement, 50 samples (set in the bench; criterion's own flags
# such as --measurement-time can follow the filter). The table uses criterion's median.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo bench --bench layer -- "$@"

python3 - <<'EOF'
import glob, json, os

results = {}
for path in glob.glob("target/criterion/**/new/benchmark.json", recursive=True):
    with open(path) as f:
        bench = json.load(f)
    with open(os.path.join(os.path.dirname(path), "estimates.json")) as f:
        est = json.load(f)
    results[bench["full_id"]] = est["median"]["point_estimate"]  # nanoseconds

def get(name):
    return results.get(name)

def fmt(ns):
    return "-" if ns is None else (f"{ns / 1000:.2f} us" if ns >= 1000 else f"{ns:.0f} ns")

def ratio(a, b):
    return "-" if a is None or b is None or b == 0 else f"{a / b:.3f}x"

plain = get("stack/no_layer")
plain_bound = get("bound/no_layer")
print()
print(f"Medians; 'added' = the case minus stack/no_layer ({fmt(plain)}); ratios against "
      "jsonwebtoken::decode alone of the same algorithm.")
print()
print("| case | median | added | added / decode | target |")
print("|---|---|---|---|---|")
targets = {
    ("layer_hit", "HS256"): "<= 0.15x",
    ("layer_hit", "ES256"): "<= 0.01x",
    ("layer_miss", "HS256"): "<= 1.0x",
    ("layer_miss", "RS256"): "<= 1.0x",
    ("layer_miss", "ES256"): "<= 1.0x",
}
for alg in ["HS256", "RS256", "ES256"]:
    decode = get(f"decode_alone/{alg}")
    print(f"| decode_alone/{alg} | {fmt(decode)} | | 1.000x | |")
    for case in ["baseline_from_fn", "layer_miss", "layer_hit"]:
        t = get(f"stack/{case}/{alg}")
        added = None if t is None or plain is None else t - plain
        print(f"| stack/{case}/{alg} | {fmt(t)} | {fmt(added)} | {ratio(added, decode)} "
              f"| {targets.get((case, alg), '')} |")
decode = get("decode_alone/HS256")
for case in ["baseline_from_fn", "layer_miss", "layer_hit"]:
    t = get(f"bound/{case}/HS256")
    added = None if t is None or plain_bound is None else t - plain_bound
    print(f"| bound/{case}/HS256 | {fmt(t)} | {fmt(added)} | {ratio(added, decode)} | |")
hit = get("stack/layer_hit/ES256")
hit_added = None if hit is None or plain is None else hit - plain
es = get("decode_alone/ES256")
print()
print("Floods (each token distinct, none cached); 'added' as above.")
print()
print("| flood | median | added | added / cache hit added | added / decode ES256 |")
print("|---|---|---|---|---|")
for case in ["malformed", "expired", "bad_signature_es256"]:
    t = get(f"flood/{case}")
    added = None if t is None or plain is None else t - plain
    print(f"| flood/{case} | {fmt(t)} | {fmt(added)} | {ratio(added, hit_added)} "
          f"| {ratio(added, es)} |")
EOF
