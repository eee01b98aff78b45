#!/usr/bin/env python3
"""Independent RFC 9162 checker for the roomd audit ledger's proofs.

Written from RFC 9162 section 2.1 alone (it shares no code with the Swift
implementation): MTH (2.1.1), PATH (2.1.3.1), PROOF/SUBPROOF (2.1.4.1) and
the two verification algorithms (2.1.3.2, 2.1.4.2).

Input (path given as argv[1]) is JSON:
  {"entries": [base64 entry bytes, in leaf order],
   "inclusion": [{"index": m, "size": n, "root": b64, "path": [b64, ...]}, ...],
   "consistency": [{"old": m, "new": n, "old_root": b64, "new_root": b64, "path": [b64, ...]}, ...]}

For each proof it checks: the root the ledger reported equals MTH computed here
from the raw entries; the path equals the one RFC 9162 defines; the RFC
verification algorithm accepts it; and the same algorithm rejects the proof
with one bit flipped. Prints failures and a final "N passed, N failed" line;
exits non-zero on any failure.
"""
import base64
import hashlib
import json
import sys
from functools import lru_cache


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def largest_power_of_two_below(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def main():
    with open(sys.argv[1], "rb") as f:
        data = json.load(f)
    leaves = [leaf_hash(base64.b64decode(e)) for e in data["entries"]]

    @lru_cache(maxsize=None)
    def mth(lo, hi):
        n = hi - lo
        if n == 0:
            return hashlib.sha256(b"").digest()
        if n == 1:
            return leaves[lo]
        k = largest_power_of_two_below(n)
        return node_hash(mth(lo, lo + k), mth(lo + k, hi))

    def path(m, lo, hi):
        n = hi - lo
        if n == 1:
            return []
        k = largest_power_of_two_below(n)
        if m < k:
            return path(m, lo, lo + k) + [mth(lo + k, hi)]
        return path(m - k, lo + k, hi) + [mth(lo, lo + k)]

    def subproof(m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [mth(lo, hi)]
        k = largest_power_of_two_below(n)
        if m <= k:
            return subproof(m, lo, lo + k, b) + [mth(lo + k, hi)]
        return subproof(m - k, lo + k, hi, False) + [mth(lo, lo + k)]

    def verify_inclusion(leaf, index, size, proof, root):
        if index >= size:
            return False
        fn, sn, r = index, size - 1, leaf
        for p in proof:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                r = node_hash(p, r)
                if not fn & 1:
                    while not fn & 1 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                r = node_hash(r, p)
            fn >>= 1
            sn >>= 1
        return sn == 0 and r == root

    def verify_consistency(first, second, first_hash, second_hash, proof):
        if first == second:
            return not proof and first_hash == second_hash
        if not proof:
            return False
        proof = list(proof)
        if first & (first - 1) == 0:
            proof.insert(0, first_hash)
        fn, sn = first - 1, second - 1
        while fn & 1:
            fn >>= 1
            sn >>= 1
        fr = sr = proof[0]
        for c in proof[1:]:
            if sn == 0:
                return False
            if fn & 1 or fn == sn:
                fr = node_hash(c, fr)
                sr = node_hash(c, sr)
                if not fn & 1:
                    while not fn & 1 and fn != 0:
                        fn >>= 1
                        sn >>= 1
            else:
                sr = node_hash(sr, c)
            fn >>= 1
            sn >>= 1
        return fr == first_hash and sr == second_hash and sn == 0

    def flipped(proof):
        if not proof:
            return None
        first = bytearray(proof[0])
        first[0] ^= 1
        return [bytes(first)] + proof[1:]

    passed = failed = 0

    def fail(msg):
        nonlocal failed
        failed += 1
        if failed <= 20:
            print("FAIL", msg)

    for item in data["inclusion"]:
        m, n = item["index"], item["size"]
        proof = [base64.b64decode(p) for p in item["path"]]
        root = base64.b64decode(item["root"])
        where = f"inclusion m={m} n={n}"
        if root != mth(0, n):
            fail(f"{where}: ledger root differs from MTH of the entries")
        elif proof != path(m, 0, n):
            fail(f"{where}: path differs from RFC 9162 PATH(m, D[n])")
        elif not verify_inclusion(leaves[m], m, n, proof, root):
            fail(f"{where}: RFC 9162 verification rejects the proof")
        elif flipped(proof) is not None and verify_inclusion(leaves[m], m, n, flipped(proof), root):
            fail(f"{where}: verification accepts a corrupted proof")
        else:
            passed += 1

    for item in data["consistency"]:
        m, n = item["old"], item["new"]
        proof = [base64.b64decode(p) for p in item["path"]]
        old_root, new_root = base64.b64decode(item["old_root"]), base64.b64decode(item["new_root"])
        where = f"consistency m={m} n={n}"
        expected = subproof(m, 0, n, True) if m < n else []
        if old_root != mth(0, m) or new_root != mth(0, n):
            fail(f"{where}: ledger roots differ from MTH of the entries")
        elif proof != expected:
            fail(f"{where}: path differs from RFC 9162 PROOF(m, D[n])")
        elif not verify_consistency(m, n, old_root, new_root, proof):
            fail(f"{where}: RFC 9162 verification rejects the proof")
        elif flipped(proof) is not None and verify_consistency(m, n, old_root, new_root, flipped(proof)):
            fail(f"{where}: verification accepts a corrupted proof")
        else:
            passed += 1

    print(f"rfc9162_check: {passed} passed, {failed} failed")
    sys.exit(1 if failed or passed == 0 else 0)


if __name__ == "__main__":
    main()
