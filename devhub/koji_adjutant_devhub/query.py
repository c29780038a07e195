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
            if rows and field not in rows[0] and '.' in field:
                # a column named by table (e.g. 'buildroot.id'), as SQL allows
                field = field.rsplit('.', 1)[1]
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


# -- kojihub's QueryView (repo.query, repo.queryQueue) ------------------------------------

QUERY_OPS = ('IN', 'NOT IN', '=', '!=', '>', '<', '>=', '<=', 'IS', 'IS NOT', '@>', '<@')


def _contains(big, small):
    if isinstance(big, dict) and isinstance(small, dict):
        return all(k in big and big[k] == v for k, v in small.items())
    if isinstance(big, (list, tuple)) and isinstance(small, (list, tuple)):
        return all(v in big for v in small)
    return big == small


def _match(value, op, arg):
    if op in ('IS', 'IS NOT'):
        result = value is arg if arg is None or isinstance(arg, bool) else value == arg
        if isinstance(arg, bool) and value is not None:
            result = bool(value) is arg
        return result if op == 'IS' else not result
    if op in ('IN', 'NOT IN'):
        if not isinstance(arg, (list, tuple)):
            raise koji.ParameterError('Invalid value for %s operator: %r' % (op, arg))
        return (value in arg) == (op == 'IN')
    if op == '@>':
        return _contains(value, arg)
    if op == '<@':
        return _contains(arg, value)
    if value is None or arg is None:
        return False  # SQL comparison with NULL
    if op == '=':
        return value == arg
    if op == '!=':
        return value != arg
    try:
        if op == '>':
            return value > arg
        if op == '<':
            return value < arg
        if op == '>=':
            return value >= arg
        return value <= arg
    except TypeError:
        raise koji.ParameterError('Invalid value for comparison: %r' % (arg,))


def query_view(rows, fieldmap, default_fields, clauses=None, fields=None, opts=None):
    """Filter and project full rows the way kojihub's QueryView does.

    fieldmap: {field: needs_join}; fields: a list of names, '*' (the fields that
    need no join) or '**' (all); clauses: [[field, op, value], ...] (ANDed);
    opts: queryOpts (order, offset, limit, countOnly, asList).
    """
    if fields is None:
        fields = list(default_fields)
    elif isinstance(fields, str):
        fields = [fields]
    wanted = []
    for field in fields:
        if field == '*':
            wanted.extend(f for f, join in fieldmap.items() if not join)
        elif field == '**':
            wanted.extend(fieldmap)
        else:
            if field not in fieldmap:
                raise koji.ParameterError('Invalid field for query %s' % field)
            wanted.append(field)
    checks = []
    for clause in clauses or []:
        if not isinstance(clause, (list, tuple)) or len(clause) != 3:
            raise koji.ParameterError('Invalid clause: %r' % (clause,))
        field, op, value = clause
        if field not in fieldmap:
            raise koji.ParameterError('Invalid field for query %s' % field)
        if not isinstance(op, str) or op.upper() not in QUERY_OPS:
            raise koji.ParameterError('Invalid operator: %s' % (op,))
        checks.append((field, op.upper(), value))
    matched = [row for row in rows
               if all(_match(row.get(field), op, value) for field, op, value in checks)]
    opts = dict(opts or {})
    order = opts.pop('order', None)
    if order:
        matched = apply_query_opts(matched, {'order': order})
    result = [dict((f, row.get(f)) for f in wanted) for row in matched]
    return apply_query_opts(result, opts)
