"""The SQL that ``frontdoor sync`` runs against the council's reporting database, per entity.

Defaults are written for the data-to-insight Standard Safeguarding Dataset (SSD) tables
(``ssd_department``, ``ssd_contacts``, ``ssd_cin_episodes``, ``ssd_s47_enquiry``,
``ssd_initial_cp_conference``, ``ssd_cin_assessments``) in plain SQL that SQL Server and
PostgreSQL both accept. Each query selects its columns aliased to frontdoor's field names (the
CSV contract's column names, ``data-contract.md``); a column a query does not select is never
compared or overwritten, exactly as a CSV file without that column.

Contract of a query:

* ``changed_at`` (optional): when the source row last changed. When selected, the highest value
  read becomes the entity's watermark and the query should filter on the ``since`` bind
  parameter (the stored watermark; 1900-01-01 UTC before the first run), so the next run reads
  only rows changed since. SSD tables carry **no** last-modified column (the SSD is rebuilt
  from the case system on a schedule), so the defaults select none and every run reads the
  tables whole; the keyed upsert then counts untouched rows as ``unchanged``. A deployment that
  can add a change column does so in an override file (``FRONTDOOR_SYNC_QUERIES_DIR``).
* ``default_team`` (optional bind parameter): FRONTDOOR_DEFAULT_TEAM, for SSD contacts, which
  carry no team.

Lines marked ``EXTENSION`` name what SSD lacks and frontdoor's rules need: the contact outcome
time (the 24-hour contact rule), the referral decision time, team escalation contacts and
strategy discussions with their attendance (there is no SSD table for them; they stay with the
CSV import). Add your columns there in an override file.

Comments in the SQL never spell a bind parameter with its colon: the driver would see it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from frontdoor.errors import UsageError

#: Entities in dependency order (teams before the records naming them; referrals before the
#: assessments that reference them) with the CSV contract kind each one feeds.
SYNC_ENTITIES: Mapping[str, str] = {
    "teams": "teams",
    "contacts": "contacts",
    "referrals": "referrals",
    "s47_enquiries": "s47",
    "assessments": "assessments",
}

TEAMS = """
SELECT d.dept_team_id   AS team_id,
       d.dept_team_name AS team_name
       -- EXTENSION: SSD holds no escalation contacts for a team. Without these columns sync
       -- only renames teams already imported from teams.csv; to create teams, select e.g.
       --   , dir.manager_name AS manager_name, dir.manager_email AS manager_email,
       --     dir.service_manager_name AS service_manager_name,
       --     dir.service_manager_email AS service_manager_email
FROM ssd_department d
"""

CONTACTS = """
SELECT c.cont_contact_id          AS contact_id,
       c.cont_person_id           AS child_id,
       c.cont_contact_date        AS received_at,
       -- EXTENSION: SSD contacts carry no team; FRONTDOOR_DEFAULT_TEAM is used.
       :default_team              AS team_id,
       c.cont_contact_source_code AS source
       -- EXTENSION: SSD has no contact outcome time (only outcome flags in
       -- cont_contact_outcome_json). Add your columns here, e.g.
       --   , c.my_outcome AS outcome, c.my_outcome_datetime AS outcome_at
       -- EXTENSION: no last-modified column in SSD; with one, add
       --   , c.my_last_modified AS changed_at   and filter on it with the since parameter
FROM ssd_contacts c
"""

REFERRALS = """
SELECT e.cine_referral_id          AS referral_id,
       e.cine_person_id            AS child_id,
       e.cine_referral_date        AS received_at,
       e.cine_referral_team        AS team_id,
       e.cine_referral_source_code AS source
       -- EXTENSION: SSD has no referral decision time (cine_referral_nfa and the outcome
       -- flags carry no time). Add your columns here, e.g.
       --   , e.my_decision AS decision, e.my_decision_datetime AS decision_at
FROM ssd_cin_episodes e
"""

S47_ENQUIRIES = """
SELECT s.s47e_s47_enquiry_id          AS s47_id,
       s.s47e_person_id               AS child_id,
       s.s47e_s47_completed_by_team   AS team_id,
       s.s47e_s47_start_date          AS start_date,
       (SELECT MIN(i.icpc_icpc_date)
          FROM ssd_initial_cp_conference i
         WHERE i.icpc_s47_enquiry_id = s.s47e_s47_enquiry_id) AS icpc_date
       -- EXTENSION: SSD has no strategy discussion table, so no discussion_id and no
       -- attendance; import strategy discussions and attendance from CSV and add e.g.
       --   , s.my_discussion_id AS discussion_id
FROM ssd_s47_enquiry s
"""

ASSESSMENTS = """
SELECT a.cina_assessment_id         AS assessment_id,
       a.cina_person_id             AS child_id,
       a.cina_assessment_team       AS team_id,
       a.cina_referral_id           AS referral_id,
       a.cina_assessment_start_date AS start_date,
       a.cina_assessment_auth_date  AS authorised_date
FROM ssd_cin_assessments a
"""

DEFAULT_QUERIES: Mapping[str, str] = {
    "teams": TEAMS,
    "contacts": CONTACTS,
    "referrals": REFERRALS,
    "s47_enquiries": S47_ENQUIRIES,
    "assessments": ASSESSMENTS,
}


def load_queries(folder: Path | None) -> dict[str, str | None]:
    """The query per entity: ``folder/<entity>.sql`` when present, else the default.

    A file holding only whitespace turns its entity off (``None``): e.g. an empty
    ``teams.sql`` when teams come from teams.csv only. Raises :class:`UsageError` when the
    folder is missing or holds a ``.sql`` file naming no entity (a typo would otherwise
    silently leave the default in force).
    """
    queries: dict[str, str | None] = dict(DEFAULT_QUERIES)
    if folder is None:
        return queries
    if not folder.is_dir():
        raise UsageError(f"{folder}: FRONTDOOR_SYNC_QUERIES_DIR is not a folder")
    for path in sorted(folder.glob("*.sql")):
        if path.stem not in SYNC_ENTITIES:
            raise UsageError(
                f"{path}: not a sync entity; expected one of {', '.join(SYNC_ENTITIES)}"
            )
        try:
            sql = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"{path}: cannot read the query: {exc}") from None
        queries[path.stem] = sql if sql.strip() else None
    return queries
