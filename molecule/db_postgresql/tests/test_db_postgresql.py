"""db_postgresql's effect on the host: a PostgreSQL 15 primary on the host's address only,
TLS and scram-sha-256 in force, the trading database with its accounts, table and grants,
and an application login that works over TLS only, from the allowed address only."""

import ipaddress
import os
import subprocess

import pytest

testinfra_hosts = ["podman://molecule-db-postgresql"]

SUBNET = ipaddress.ip_network("198.18.87.0/24")
PORT = 5432
SERVICE = "postgresql@15-main"
CONF = "/etc/postgresql/15/main"


class Secret(str):
    """A password that shows as <secret> in pytest's reports (tracebacks print arguments)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<secret>"


@pytest.fixture(scope="module")
def address(host) -> str:
    """The container's address on the scenario's network (the one the role listens on)."""
    found = [a for a in host.interface("eth0").addresses if ipaddress.ip_address(a) in SUBNET]
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def gateway(host) -> str:
    """The network's gateway: the controller, which the scenario lets in as an engine."""
    return host.check_output("ip -4 route show default").split()[2]


@pytest.fixture(scope="module")
def app_password(ephemeral) -> Secret:
    """The application password the lab's group_vars generated for this scenario (a
    password lookup beside molecule's ansible.cfg, in the scenario's ephemeral directory)."""
    path = ephemeral / ".cache" / "lab" / "engine-db-password"
    return Secret(path.read_text().strip())


def sql(host, query: str, database: str = "postgres") -> str:
    """A query as the postgres superuser over the unix socket, inside the container."""
    return host.check_output(
        f"runuser -u postgres -- psql -XAtq -p {PORT} -d %s -c %s", database, query
    )


def connect(address: str, password: Secret, options: str, query: str = "SELECT 1"):
    """psql from the controller; the password in the environment only."""
    env = {**os.environ, "PGPASSWORD": password, "PGPASSFILE": os.devnull, "PGCONNECT_TIMEOUT": "5"}
    return subprocess.run(
        ["psql", "-XAtq", f"host={address} port={PORT} {options}", "-c", query],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_the_cluster_runs_and_starts_at_boot(host):
    service = host.service(SERVICE)
    assert service.is_running
    assert service.is_enabled
    assert sql(host, "SELECT pg_is_in_recovery()") == "f"


def test_it_listens_on_the_host_address_only(host, address):
    assert host.socket(f"tcp://{address}:{PORT}").is_listening
    assert not host.socket(f"tcp://0.0.0.0:{PORT}").is_listening
    assert not host.socket(f"tcp://127.0.0.1:{PORT}").is_listening
    assert host.socket(f"unix:///var/run/postgresql/.s.PGSQL.{PORT}").is_listening


def test_the_settings_are_in_force(host, address):
    expected = {
        "ssl": "on",
        "listen_addresses": address,
        "password_encryption": "scram-sha-256",
        "wal_level": "replica",
        "data_checksums": "on",
        "hba_file": f"{CONF}/pg_hba.conf",
        # the lab's databases group_vars
        "max_connections": "50",
        "shared_buffers": "32MB",
        "max_slot_wal_keep_size": "256MB",
    }
    for name, value in expected.items():
        assert sql(host, f"SHOW {name}") == value, name
    assert sql(host, "SELECT count(*) FROM pg_settings WHERE pending_restart") == "0"


def test_pg_hba_lets_in_the_application_over_tls_only(host, gateway):
    rules = sql(
        host,
        "SELECT type, array_to_string(database, ','), array_to_string(user_name, ','),"
        " coalesce(address || '/' || netmask, ''), auth_method, coalesce(error, '')"
        " FROM pg_hba_file_rules ORDER BY line_number",
    ).splitlines()
    assert rules == [
        "local|all|postgres||peer|",
        "local|trading|engine||scram-sha-256|",
        "local|replication|replicator||scram-sha-256|",
        f"hostssl|trading|engine|{gateway}/255.255.255.255|scram-sha-256|",
    ]
    hba = host.file(f"{CONF}/pg_hba.conf")
    assert (hba.user, hba.group, hba.mode) == ("postgres", "postgres", 0o640)


def test_the_accounts_have_only_their_rights(host):
    rows = sql(
        host,
        "SELECT rolname, rolcanlogin, rolsuper, rolreplication, rolcreatedb, rolcreaterole"
        " FROM pg_roles WHERE rolname IN ('engine', 'replicator') ORDER BY rolname",
    ).splitlines()
    assert rows == ["engine|t|f|f|f|f", "replicator|t|f|t|f|f"]
    passfile = host.file("/var/lib/postgresql/.pgpass")
    assert (passfile.user, passfile.mode) == ("postgres", 0o600)


def test_the_trading_database_and_its_orders_table(host):
    assert sql(host, "SELECT has_database_privilege('public', 'trading', 'CONNECT')") == "f"
    assert sql(host, "SELECT has_database_privilege('engine', 'trading', 'CONNECT')") == "t"
    columns = sql(
        host,
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute"
        " WHERE attrelid = 'public.orders'::regclass AND attnum > 0 AND NOT attisdropped",
        database="trading",
    )
    assert columns == "seq,client_order_id,symbol,side,qty,price,region,engine,placed_at"
    privileges = sql(
        host,
        "SELECT string_agg(p || '=' || has_table_privilege('engine', 'public.orders', p), ',')"
        " FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p",
        database="trading",
    )
    assert privileges == "SELECT=true,INSERT=true,UPDATE=false,DELETE=false,TRUNCATE=false"
    assert sql(host, "SELECT has_schema_privilege('public', 'public', 'CREATE')", "trading") == "f"


def test_the_application_logs_in_over_tls(address, app_password):
    done = connect(
        address,
        app_password,
        "dbname=trading user=engine sslmode=require",
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "t"


def test_a_connection_without_tls_is_refused(address, app_password):
    done = connect(address, app_password, "dbname=trading user=engine sslmode=disable")
    assert done.returncode != 0
    assert "no pg_hba.conf entry" in done.stderr
    assert "no encryption" in done.stderr


def test_the_application_reaches_no_other_database(address, app_password):
    done = connect(address, app_password, "dbname=postgres user=engine sslmode=require")
    assert done.returncode != 0
    assert "no pg_hba.conf entry" in done.stderr


def test_a_wrong_password_is_refused(address):
    done = connect(
        address, Secret("not-the-password"), "dbname=trading user=engine sslmode=require"
    )
    assert done.returncode != 0
    assert "password authentication failed" in done.stderr
