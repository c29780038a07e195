"""queryOpts support (order, offset, limit, countOnly, asList) for list calls."""

import koji


def _sort_key(field):
    def key(row):
        value = row.get(field)
        # like PostgreSQL, NULL sorts after everything else
        return (value is None, value if value is not None else 0)
    return key


def apply_query_opts(rows, queryOpts):
    """Apply koji queryOpts to a list of dicts, like kojihub's _applyQueryOpts."""
    if not queryOpts:
        return rows
    rows = list(rows)
    order = queryOpts.get('order')
    if order:
        for part in reversed([p.strip() for p in order.split(',') if p.strip()]):
            reverse = part.startswith('-')
            field = part.lstrip('-')
            if rows and field not in rows[0]:
                raise koji.ParameterError('Invalid order field: %s' % field)
            rows.sort(key=_sort_key(field), reverse=reverse)
    offset = queryOpts.get('offset')
    if offset:
        rows = rows[int(offset):]
    limit = queryOpts.get('limit')
    if limit is not None:
        rows = rows[:int(limit)]
    if queryOpts.get('countOnly'):
        return len(rows)
    if queryOpts.get('asList'):
        return [list(row.values()) for row in rows]
    return rows
