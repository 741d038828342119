"""The shape of the synthetic front-door data: volumes, sources, delays and shares.

Figures follow domain.md §5 (about 150 contacts a working day, police the largest source,
about one contact in five becoming a referral, 22 % re-referrals). Used by
:mod:`frontdoor.generate`; plain data and the one helper that accumulates weights.
"""

from __future__ import annotations

TEAM_IDS = tuple(f"DAT-{c}" for c in "ABCDEF")
TEAM_CUM = (1.2, 2.2, 3.3, 4.2, 5.2, 6.0)  # cumulative: uneven team sizes
WORKERS_PER_TEAM = 8
DAY_MIN = 1440
YEAR_MIN = 365 * DAY_MIN

# Annex A source codes (domain.md 1.2). Police is the largest share, then schools, health,
# individuals and LA services; schools all but vanish at weekends while police rises.
SOURCES = ("6", "2A", "2B", "3A", "3B", "3C", "3D", "3E", "3F", "1A", "1B", "1C", "1D",
            "5A", "5B", "5C", "5D", "4", "7", "8", "9", "10")  # fmt: skip
SRC_WORK = (27, 17, 2, 4, 3, 2, 2, 1.5, 1.5, 4, 3, 2, 1, 4, 3, 2, 2, 3, 3, 6, 3, 4)
SRC_OFF = (45, 2, 0.5, 5, 3, 2, 2, 1.5, 1.5, 6, 4, 3, 2, 3, 2, 1.5, 1.5, 2, 3, 5, 3.5, 1)

# Relative contact volume by local hour: working days lean hard on office hours, other days
# are flatter (mostly police and hospitals out of hours).
HOURS_WORK = (0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.8, 2.5, 4.5, 5, 5,
               4.5, 4.5, 4.5, 4.5, 4, 2.5, 1.2, 0.9, 0.8, 0.7, 0.5, 0.4)  # fmt: skip
HOURS_OFF = (0.6, 0.5, 0.4, 0.3, 0.3, 0.3, 0.4, 0.6, 0.9, 1.1, 1.2, 1.2,
              1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.2, 1.1, 1.0, 0.9, 0.7)  # fmt: skip
# Mon..Fri multipliers of contacts_per_day (mean 1.0: Mon/Tue peak); other days get OFF_DAY.
WEEKDAY_FACTOR = (1.12, 1.08, 0.98, 0.96, 0.86)
OFF_DAY = 0.3

P_REFERRAL = 0.205  # of contacts with a recorded outcome: about 1 in 5 overall
OTHER_OUTCOMES = ("NFA", "Advice", "Early Help", "Strategy discussion")
OTHER_CUM = (0.32, 0.62, 0.985, 1.0)
P_REREFERRAL = 0.225  # slightly above 22% because a few pool picks are rejected
P_REPEAT_CONTACT = 0.08  # non-referral contacts about a child recently referred
DECISIONS = ("Strategy discussion", "Assessment", "NFA", "Early Help")
DECISION_CUM = (0.25, 0.65, 0.80, 1.0)

ROLES = {
    "local_authority": ("Social worker, DAT", "Team manager, DAT", "Social worker, EDT"),
    "police": ("DS, Safeguarding Unit", "DC, Child Abuse Investigation Team", "PS, MASH"),
    "health": ("Named nurse", "Paediatrician", "Health visitor", "School nurse"),
    "education": ("Designated safeguarding lead", "Head teacher", "Early years lead"),
    "other": ("Probation officer", "Youth justice worker", "Housing officer"),
}
# agency -> (P(row present), P(attended | row)): police ~88% and health ~82% attended overall.
ATTENDANCE = (("local_authority", 1.0, 0.99), ("police", 0.95, 0.926),
               ("health", 0.94, 0.872), ("education", 0.5, 0.7), ("other", 0.06, 0.8))  # fmt: skip


def cumulative(weights: tuple[float, ...], repeat: int = 1) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        for _ in range(repeat):
            total += w
            out.append(total)
    return out


SRC_CUM_WORK, SRC_CUM_OFF = cumulative(SRC_WORK), cumulative(SRC_OFF)
MIN_CUM_WORK, MIN_CUM_OFF = cumulative(HOURS_WORK, 60), cumulative(HOURS_OFF, 60)
MINUTES = range(DAY_MIN)
