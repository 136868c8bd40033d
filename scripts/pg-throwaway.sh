# pg-throwaway.sh - source me: start a throwaway PostgreSQL for the tests.
# Exports CALLSCOPE_TEST_PG (an admin conninfo; tests create their own
# databases in it) and defines pg_throwaway_stop. Unix socket only, fsync off.
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)}
PGTMP=$(mktemp -d /tmp/cs-pgtest.XXXXXX)
PGUSER_RUN=""
if [ "$(id -u)" -eq 0 ]; then
    PGUSER_RUN="runuser -u postgres --"
    chown postgres: "$PGTMP"
fi
PGPORT_T=$(( 20000 + RANDOM % 20000 ))
( cd "$PGTMP" &&
  $PGUSER_RUN "$PGBIN/initdb" -D "$PGTMP/data" -U postgres -A trust -E UTF8 \
      --locale=C.UTF-8 --no-sync >"$PGTMP/initdb.log" 2>&1 &&
  $PGUSER_RUN "$PGBIN/pg_ctl" -D "$PGTMP/data" -l "$PGTMP/server.log" -w -t 60 \
      -o "-p $PGPORT_T -k $PGTMP -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null
) || { cat "$PGTMP"/*.log >&2; return 1; }
export CALLSCOPE_TEST_PG="host=$PGTMP port=$PGPORT_T user=postgres dbname=postgres"
pg_throwaway_stop() {
    ( cd "$PGTMP" && $PGUSER_RUN "$PGBIN/pg_ctl" -D "$PGTMP/data" -m immediate -w stop >/dev/null 2>&1 )
    rm -rf "$PGTMP"
}
