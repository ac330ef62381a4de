"""BENCH_SCALE=large: fills the local D1 file of `make bench` directly (fast,
no Worker involved) with 100 000 users, 10 000 orgs, 200 000 API keys and
1 000 000 audit events, and gives the benchmark's own org 10 000 members and
100 000 of those events, so member and audit-log pages can be timed at page 1
and page 1 000.  Usage: seed_large.py <sqlite file> <bench org id>
"""
import hashlib
import random
import sqlite3
import sys
import time

USERS, ORGS, KEYS, EVENTS = 100_000, 10_000, 200_000, 1_000_000
BIG_ORG_MEMBERS, BIG_ORG_EVENTS = 10_000, 100_000

db_path, bench_org = sys.argv[1], sys.argv[2]
rng = random.Random(7)
now = int(time.time())


def hid(prefix, n, salt):
    return prefix + hashlib.md5(f"{salt}:{n}".encode()).hexdigest()  # 32 hex, like the service's ids


db = sqlite3.connect(db_path)
db.execute("PRAGMA foreign_keys = OFF")  # rows arrive in dependency order anyway
db.execute("BEGIN")
users = [hid("usr_", i, "u") for i in range(USERS)]
db.executemany(
    "INSERT INTO users (id, email, name, password_hash, email_verified_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
    ((u, f"user{i}@large.example", f"User {i}", None, now, now - i, now - i) for i, u in enumerate(users)),
)
orgs = [hid("org_", i, "o") for i in range(ORGS)]
db.executemany(
    "INSERT INTO orgs (id, name, slug, require_2fa, created_at, updated_at) VALUES (?,?,?,0,?,?)",
    ((o, f"Org {i}", f"large-org-{i}", now - i, now - i) for i, o in enumerate(orgs)),
)
# Ten members an org; the benchmark's org gets 10 000.
db.executemany(
    "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at) VALUES (?,?,?,?)",
    ((o, users[(i * 10 + j) % USERS], "owner" if j == 0 else "member", now - j) for i, o in enumerate(orgs) for j in range(10)),
)
db.executemany(
    "INSERT OR IGNORE INTO org_members (org_id, user_id, role, joined_at) VALUES (?,?,?,?)",
    ((bench_org, users[j], "member", now - BIG_ORG_MEMBERS + j // 3) for j in range(BIG_ORG_MEMBERS)),
)
db.executemany(
    "INSERT INTO api_keys (id, org_id, name, key_hash, start, scopes, created_by, created_at) VALUES (?,?,?,?,?,?,?,?)",
    ((hid("key_", i, "k"), orgs[i % ORGS], f"key {i}", hashlib.sha256(f"k{i}".encode()).hexdigest(), "lk_large",
      "org:read", users[(i % ORGS) * 10 % USERS], now - i) for i in range(KEYS)),
)
actions = ["member.added", "member.role_changed", "api_key.created", "org.updated", "invitation.created"]
def events():
    for i in range(EVENTS):
        org = bench_org if i < BIG_ORG_EVENTS else orgs[rng.randrange(ORGS)]
        yield (hid("evt_", i, "e"), org, None, "user", users[i % USERS], actions[i % len(actions)], "user",
               users[(i + 1) % USERS], "{}", now - EVENTS + i)
db.executemany(
    "INSERT INTO audit_events (id, org_id, workspace_id, actor_kind, actor_id, action, target_kind, target_id, data, occurred_at) "
    "VALUES (?,?,?,?,?,?,?,?,?,?)",
    events(),
)
db.execute("COMMIT")
db.close()
print(f"seeded {USERS} users, {ORGS} orgs, {KEYS} keys, {EVENTS} audit events; "
      f"the bench org has {BIG_ORG_MEMBERS} more members and {BIG_ORG_EVENTS} events")
