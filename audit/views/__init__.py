"""Log review for log reviewers (accounts.review_access_log), and the citizen's log extract.

Every page that shows log content writes the reviewer's own access-log entry (route log_review)
first; if that entry cannot be written the page shows nothing (audit.http.refuse_unlogged_reads).
"""
