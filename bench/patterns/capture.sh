#!/bin/bash
# Capture raw logs from real programs run here, for bench/patterns/build_sets.py to label.
# Usage: [ONLY="postgres pip"] bench/patterns/capture.sh OUTDIR   (needs root; starts and stops
# its own daemons, talks to 127.0.0.1 only; takes about two minutes)
set -u
out=${1:?usage: capture.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
chmod 755 "$work"  # postgres runs as its own user under it
trap 'rm -rf "$work"' EXIT
want() { [ -z "${ONLY:-}" ] || [[ " $ONLY " == *" $1 "* ]]; }

# --- system package manager logs already on this machine
if want dpkg; then
cp /var/log/dpkg.log "$out/dpkg.raw"
cp /var/log/apt/term.log "$out/apt-term.raw"
fi

# --- mosquitto with every log type, real clients publishing and subscribing
if want mosquitto; then
mosquitto_port=18931
printf 'listener %s 127.0.0.1\nallow_anonymous true\nlog_type all\nlog_timestamp_format %%Y-%%m-%%dT%%H:%%M:%%S\nlog_dest stdout\npersistence false\nmax_keepalive 60\n' \
    "$mosquitto_port" > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" > "$out/mosquitto.raw" 2>&1 &
mpid=$!
sleep 0.5
subs=()
for i in 1 2 3; do
    timeout 40 mosquitto_sub -h 127.0.0.1 -p $mosquitto_port -i "watch-$i" -q $((i % 3)) -t "plant/+/temp" -t "alerts/#" > /dev/null &
    subs+=($!)
done
timeout 40 mosquitto_sub -h 127.0.0.1 -p $mosquitto_port -i durable-1 -c -q 1 -t 'fleet/#' -k 5 > /dev/null &
subs+=($!)
for round in $(seq 1 60); do
    line=$((round % 7))
    mosquitto_pub -h 127.0.0.1 -p $mosquitto_port -i "sensor-$line" -q $((round % 3)) -t "plant/line$line/temp" -m "$((20 + round % 9)).$round" 
    mosquitto_pub -h 127.0.0.1 -p $mosquitto_port -q 1 -r -t "fleet/host$((round % 5))/state" -m "{\"up\": $round}"
    [ $((round % 4)) = 0 ] && mosquitto_pub -h 127.0.0.1 -p $mosquitto_port -V mqttv5 -q 2 -t "alerts/disk" -m "disk $round% full" -D publish message-expiry-interval 30
    [ $((round % 6)) = 0 ] && timeout 2 mosquitto_sub -h 127.0.0.1 -p $mosquitto_port -t "fleet/#" -C 3 -W 1 --will-topic "clients/gone" --will-payload bye > /dev/null
    [ $((round % 9)) = 0 ] && mosquitto_pub -h 127.0.0.1 -p $mosquitto_port -V mqttv31 -t "bad/#/topic" -m x 2> /dev/null
    [ $((round % 10)) = 0 ] && timeout 3 mosquitto_pub -h 127.0.0.1 -p $mosquitto_port -i "sensor-1" -l -t plant/batch < <(seq 1 20)
done
sleep 6
kill "${subs[@]}" 2> /dev/null
sleep 0.5
kill $mpid; wait $mpid 2> /dev/null
fi

# --- sshd at debug level 3: one connection per run (-d), good and bad clients
if want sshd; then
mkdir -p /run/sshd "$work/ssh"
ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_ed25519"
ssh-keygen -q -t ecdsa -N '' -f "$work/ssh/client_key"
cp "$work/ssh/client_key.pub" "$work/ssh/authorized_keys"
chmod 600 "$work/ssh/authorized_keys"
: > "$out/sshd.raw"
for attempt in good baduser good nokey good badcipher good; do
    /usr/sbin/sshd -ddd -e -D -p 2299 -h "$work/ssh/host_ed25519" -o ListenAddress=127.0.0.1 \
        -o AuthorizedKeysFile="$work/ssh/authorized_keys" -o PasswordAuthentication=no \
        -o StrictModes=no >> "$out/sshd.raw" 2>&1 &
    spid=$!
    sleep 0.7
    opts=(-o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p 2299)
    case $attempt in
        good) timeout 10 ssh "${opts[@]}" -i "$work/ssh/client_key" root@127.0.0.1 'uname -a; ls /etc | head -3' > /dev/null 2>&1 ;;
        baduser) timeout 10 ssh "${opts[@]}" -i "$work/ssh/client_key" nosuchuser@127.0.0.1 true > /dev/null 2>&1 ;;
        nokey) timeout 10 ssh "${opts[@]}" -o IdentitiesOnly=yes -i /dev/null root@127.0.0.1 true > /dev/null 2>&1 ;;
        badcipher) timeout 10 ssh "${opts[@]}" -c aes128-cbc root@127.0.0.1 true > /dev/null 2>&1 ;;
    esac
    sleep 0.3
    kill $spid 2> /dev/null; wait $spid 2> /dev/null
done
fi

# --- postgres 15: connections, pgbench, errors, checkpoints, debug1
if want postgres; then
pgdir="$work/pg"
mkdir -p "$pgdir" && chown postgres "$pgdir"
run_pg() { runuser -u postgres -- "$@"; }
run_pg /usr/lib/postgresql/15/bin/initdb -D "$pgdir/data" -A trust > /dev/null
run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
    -o "-p 15499 -k $pgdir -c listen_addresses=127.0.0.1 -c log_connections=on -c log_disconnections=on -c log_statement=ddl -c log_checkpoints=on -c log_min_messages=debug1 -c log_autovacuum_min_duration=0 -c autovacuum_naptime=2 -c checkpoint_timeout=30" start > /dev/null
pg() { run_pg psql -h 127.0.0.1 -p 15499 -U postgres -X -q "$@"; }
run_pg pgbench -h 127.0.0.1 -p 15499 -U postgres -i -s 1 postgres > /dev/null 2>&1
run_pg pgbench -h 127.0.0.1 -p 15499 -U postgres -c 2 -t 60 postgres > /dev/null 2>&1
run_pg pgbench -h 127.0.0.1 -p 15499 -U postgres -c 3 -t 20 -C -S postgres > /dev/null 2>&1
for i in $(seq 1 15); do
    pg -c "select * from missing_table_$i" 2> /dev/null
    pg -c "select 1/0" 2> /dev/null
    pg -c "create table t$i (id int primary key, v text)" 2> /dev/null
    pg -c "insert into t$i values (1, 'a'), (1, 'b')" 2> /dev/null
    pg -d nodb_$i -c 'select 1' 2> /dev/null
    pg -c "drop table t$i" 2> /dev/null
done
pg -c 'checkpoint' -c 'vacuum analyze' 2> /dev/null
sleep 3
run_pg /usr/lib/postgresql/15/bin/pg_ctl -D "$pgdir/data" -m fast stop > /dev/null
cp "$pgdir/postgres.log" "$out/postgres.raw"
fi

# --- Python's http.server under load: files found and missing, good and bad requests
if want http; then
mkdir -p "$work/www/static/css" "$work/www/api"
for f in index.html static/app.js static/css/site.css api/health.json; do echo "x" > "$work/www/$f"; done
(cd "$work/www" && exec python3 -m http.server 18089 --bind 127.0.0.1 > /dev/null 2> "$out/http.raw") &
hpid=$!
sleep 0.7
python3 - <<'PY'
import http.client, socket, random
random.seed(4)
paths = ["/", "/index.html", "/static/app.js", "/static/css/site.css", "/api/health.json",
         "/missing", "/static/../etc/passwd", "/api/v1/users/%d", "/favicon.ico", "/static/"]
for i in range(1200):
    conn = http.client.HTTPConnection("127.0.0.1", 18089, timeout=5)
    path = random.choice(paths)
    if "%d" in path:
        path = path % random.randint(1, 99999)
    method = random.choice(["GET", "GET", "GET", "HEAD", "POST", "DELETE"])
    conn.request(method, path + (f"?q={i}" if i % 5 == 0 else ""))
    conn.getresponse().read()
    conn.close()
    if i % 40 == 0:
        with socket.create_connection(("127.0.0.1", 18089)) as s:
            s.sendall(random.choice([b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"]))
            s.recv(1000)
PY
kill $hpid; wait $hpid 2> /dev/null
fi

# --- pip, verbose, resolving and building a local project
if want pip; then
python3 -m venv "$work/venv"
mkdir -p "$work/proj/demo_pkg"
printf '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n[project]\nname = "demo-pkg"\nversion = "0.1"\n' > "$work/proj/pyproject.toml"
echo "" > "$work/proj/demo_pkg/__init__.py"
"$work/venv/bin/pip" install -vv --no-build-isolation "$work/proj" > "$out/pip.raw" 2>&1
for pkgs in "six attrs" "six attrs" "idna certifi" "packaging pyparsing"; do
        "$work/venv/bin/pip" install -vvv $pkgs >> "$out/pip.raw" 2>&1
    done
    "$work/venv/bin/pip" download -vvv --no-deps -d "$work/dl" six idna >> "$out/pip.raw" 2>&1
"$work/venv/bin/pip" uninstall -vv -y demo-pkg six >> "$out/pip.raw" 2>&1
"$work/venv/bin/pip" install -vv no-such-package-xyz-404 >> "$out/pip.raw" 2>&1
# The pip that wrote the log, for its messages (the venv goes away with $work).
rm -rf "$out/pip-src" && cp -r "$work/venv/lib/python3.11/site-packages/pip" "$out/pip-src"
fi

# --- redis 7: a primary and a replica (replication, resync after a restart), clients, saves
if want redis; then
rdir="$work/redis"
mkdir -p "$rdir/p" "$rdir/r"
chmod 777 "$rdir" "$rdir/p" "$rdir/r"
: > "$out/redis.raw"
chmod 666 "$out/redis.raw"
rstart() {  # port dir [extra args]: a redis-server as the redis user, logging to redis.raw
    runuser -u redis -- redis-server --port "$1" --bind 127.0.0.1 --dir "$2" --loglevel verbose \
        --logfile "$out/redis.raw" --save "" --appendonly no --daemonize yes --pidfile "$2/pid" "${@:3}"
}
rcli() { redis-cli -h 127.0.0.1 -p "$@"; }
rstart 16391 "$rdir/p"
sleep 0.5
rstart 16392 "$rdir/r" --replicaof 127.0.0.1 16391
sleep 1.5
for round in $(seq 1 8); do
    redis-benchmark -h 127.0.0.1 -p 16391 -q -n 300 -c 4 -t set,get,lpush > /dev/null 2>&1
    rcli 16391 bgsave > /dev/null
    rcli 16391 config set maxmemory "$((round * 10))mb" > /dev/null
    rcli 16392 set readonly-replica-$round x > /dev/null 2>&1
    rcli 16391 client kill type normal > /dev/null 2>&1
    [ $((round % 3)) = 0 ] && { rcli 16392 shutdown nosave > /dev/null 2>&1; sleep 0.5; rstart 16392 "$rdir/r" --replicaof 127.0.0.1 16391; }
    [ $((round % 4)) = 0 ] && rcli 16391 save > /dev/null
    [ $((round % 4)) = 2 ] && rcli 16392 replicaof no one > /dev/null && sleep 0.3 && rcli 16392 replicaof 127.0.0.1 16391 > /dev/null
    sleep 1.2
done
rcli 16392 shutdown nosave > /dev/null 2>&1
rcli 16391 shutdown save > /dev/null 2>&1
sleep 0.5
fi

# --- memcached 1.6, verbose: text and meta commands from several clients, errors, evictions
if want memcached; then
memcached -u nobody -l 127.0.0.1 -p 18211 -U 0 -m 2 -vv > "$out/memcached.raw" 2>&1 &
mcpid=$!
sleep 0.5
python3 - <<'PY'
import random, socket
random.seed(11)
def session(commands):
    with socket.create_connection(("127.0.0.1", 18211), timeout=5) as s:
        for command in commands:
            s.sendall(command)
            s.recv(65536)
for i in range(120):
    key = f"user:{random.randint(1, 40)}"
    value = b"x" * random.choice([3, 10, 200, 5000])
    commands = [
        b"set %s 0 %d %d\r\n%s\r\n" % (key.encode(), random.randint(0, 60), len(value), value),
        b"get %s\r\n" % key.encode(),
        random.choice([b"incr counter:%d 1\r\n" % (i % 5), b"delete %s\r\n" % key.encode(),
                       b"touch %s 10\r\n" % key.encode(), b"gets %s other\r\n" % key.encode(),
                       b"mg %s v t\r\n" % key.encode(), b"bogus command\r\n",
                       b"add %s 0 0 1\r\nz\r\n" % key.encode()]),
    ]
    if i % 30 == 0:
        commands.append(b"stats\r\n")
    session(commands)
PY
kill $mcpid; wait $mcpid 2> /dev/null
fi

wc -l "$out"/*.raw
