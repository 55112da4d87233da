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

# --- BIND 9 (named -g -d 1): an authoritative zone, queries of every kind, refused recursion,
# zone transfers allowed and denied, dynamic updates, reloads through rndc
if want bind9; then
bdir="$work/bind"
mkdir -p "$bdir"
chown bind "$bdir"
rndc-confgen -a -k rndc-key -c "$bdir/rndc.key" > /dev/null 2>&1
chown bind "$bdir/rndc.key"
cat > "$bdir/named.conf" <<CONF
include "$bdir/rndc.key";
controls { inet 127.0.0.1 port 19953 allow { 127.0.0.1; } keys { rndc-key; }; };
options {
    directory "$bdir";
    listen-on port 15353 { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    querylog yes;
    allow-transfer { 127.0.0.1; };
    pid-file "$bdir/named.pid";
    dnssec-validation no;
};
zone "example.test" { type primary; file "$bdir/example.test.db"; allow-update { 127.0.0.1; }; };
zone "broken.test" { type primary; file "$bdir/missing.db"; };
CONF
printf '$TTL 60\n@ IN SOA ns1 admin 1 60 60 600 60\n@ IN NS ns1\nns1 IN A 127.0.0.1\nwww IN A 10.0.0.%s\nmail IN A 10.0.0.9\n@ IN MX 10 mail\n@ IN TXT "v=spf1 -all"\nalias IN CNAME www\n' 1 > "$bdir/example.test.db"
chown bind "$bdir/example.test.db"
named -g -d 1 -u bind -c "$bdir/named.conf" > "$out/bind9.raw" 2>&1 &
bpid=$!
sleep 2
d() { timeout 5 dig -p 15353 @127.0.0.1 +tries=1 +time=2 "$@" > /dev/null 2>&1; }
for round in $(seq 1 40); do
    d "www.example.test" A
    d "host$round.example.test" A
    d example.test "$(echo MX TXT NS SOA AAAA ANY | cut -d' ' -f$((round % 6 + 1)))"
    d alias.example.test +norecurse
    d "www.elsewhere$((round % 4)).org" A
    [ $((round % 5)) = 0 ] && d example.test AXFR
    [ $((round % 7)) = 0 ] && d -b 127.0.0.2 example.test AXFR
    [ $((round % 3)) = 0 ] && printf 'server 127.0.0.1 15353\nzone example.test\nupdate add h%s.example.test 60 A 10.1.0.%s\nsend\n' "$round" "$round" | timeout 5 nsupdate > /dev/null 2>&1
    [ $((round % 8)) = 0 ] && printf 'server 127.0.0.1 15353\nzone other.test\nupdate add x.other.test 60 A 10.2.0.1\nsend\n' | timeout 5 nsupdate > /dev/null 2>&1
    [ $((round % 10)) = 0 ] && timeout 5 rndc -k "$bdir/rndc.key" -s 127.0.0.1 -p 19953 reload > /dev/null 2>&1
    [ $((round % 13)) = 0 ] && timeout 5 rndc -k "$bdir/rndc.key" -s 127.0.0.1 -p 19953 stats > /dev/null 2>&1
    [ $((round % 9)) = 0 ] && timeout 5 rndc -k "$bdir/rndc.key" -s 127.0.0.1 -p 19953 flush > /dev/null 2>&1
done
timeout 5 rndc -k "$bdir/rndc.key" -s 127.0.0.1 -p 19953 stop > /dev/null 2>&1
sleep 1
kill $bpid 2> /dev/null; wait $bpid 2> /dev/null
fi

# --- etcd 3.4 (zap JSON logs): a cluster of three, elections, a member stopped and restarted,
# leases expiring, compaction, defragmentation, snapshots; lines of the three merged by time
if want etcd; then
edir="$work/etcd"
mkdir -p "$edir"
cluster="e1=http://127.0.0.1:12380,e2=http://127.0.0.1:22380,e3=http://127.0.0.1:32380"
estart() {  # n: start member en, logging to its own file
    etcd --name "e$1" --data-dir "$edir/e$1" --logger zap --log-outputs stderr \
        --listen-client-urls "http://127.0.0.1:${1}2379" --advertise-client-urls "http://127.0.0.1:${1}2379" \
        --listen-peer-urls "http://127.0.0.1:${1}2380" --initial-advertise-peer-urls "http://127.0.0.1:${1}2380" \
        --initial-cluster "$cluster" --initial-cluster-state new --snapshot-count 200 \
        --heartbeat-interval 100 --election-timeout 1000 >> "$edir/e$1.log" 2>&1 &
    epids[$1]=$!
}
declare -a epids
for n in 1 2 3; do estart $n; done
sleep 4
ec() { ETCDCTL_API=3 timeout 10 etcdctl --endpoints "http://127.0.0.1:${1}2379" "${@:2}" > /dev/null 2>&1; }
for round in $(seq 1 12); do
    for i in $(seq 1 40); do ec $((i % 3 + 1)) put "/app/k$((i % 17))" "v$round-$i"; done
    ec 1 get --prefix /app
    lease=$(ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:12379 lease grant 2 2> /dev/null | awk '{print $2}')
    [ -n "$lease" ] && ec 1 put --lease="$lease" "/lease/$round" x
    [ $((round % 3)) = 0 ] && ec 2 compact "$(ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:22379 endpoint status -w fields 2> /dev/null | awk '/"Revision"/ {print $3}')"
    [ $((round % 4)) = 0 ] && ec 3 defrag
    [ $((round % 5)) = 0 ] && ec 1 snapshot save "$edir/snap$round.db"
    if [ $((round % 4)) = 2 ]; then
        victim=$((round % 3 + 1))
        kill "${epids[$victim]}"; wait "${epids[$victim]}" 2> /dev/null
        sleep 2
        estart "$victim"
        sleep 2
    fi
    sleep 1
done
for n in 1 2 3; do kill "${epids[$n]}" 2> /dev/null; done
wait 2> /dev/null
sort -s -t'"' -k8,8 "$edir"/e?.log > "$out/etcd.raw"
fi

# --- HAProxy 2.6: HTTP and TCP front ends, health checks taking servers down and up, a back end
# with no server, bad requests; logs on stdout in raw format
if want haproxy; then
hdir="$work/haproxy"
mkdir -p "$hdir/www"
echo ok > "$hdir/www/index.html"
cat > "$hdir/haproxy.cfg" <<CONF
global
    log stdout format raw local0 debug
defaults
    log global
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend web
    mode http
    option httplog
    bind 127.0.0.1:18400
    use_backend nobody if { path_beg /none }
    default_backend app
frontend db
    mode tcp
    option tcplog
    bind 127.0.0.1:18401
    default_backend app_tcp
backend app
    mode http
    balance roundrobin
    option httpchk GET /index.html
    server s1 127.0.0.1:18301 check inter 400 fall 2 rise 2
    server s2 127.0.0.1:18302 check inter 400 fall 2 rise 2
backend nobody
    mode http
backend app_tcp
    mode tcp
    server t1 127.0.0.1:18301 check inter 400
CONF
www() { (cd "$hdir/www" && exec python3 -m http.server "$1" --bind 127.0.0.1 > /dev/null 2>&1) & }
www 18301; s1=$!
haproxy -db -f "$hdir/haproxy.cfg" > "$out/haproxy.raw" 2>&1 &
hapid=$!
sleep 1.5
hreq() { python3 - "$@" <<'PY'
import random, socket, sys, http.client
random.seed(int(sys.argv[1]))
for i in range(int(sys.argv[2])):
    kind = random.random()
    if kind < 0.05:
        with socket.create_connection(("127.0.0.1", 18400)) as s:
            s.sendall(random.choice([b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n"]))
            s.recv(1000)
        continue
    if kind < 0.12:
        with socket.create_connection(("127.0.0.1", 18401)) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            s.recv(1000)
        continue
    conn = http.client.HTTPConnection("127.0.0.1", 18400, timeout=5)
    path = random.choice(["/", "/index.html", "/missing", "/none/x", "/api/v1/items/%d" % i])
    conn.request(random.choice(["GET", "GET", "HEAD", "POST", "DELETE"]), path)
    conn.getresponse().read()
    conn.close()
PY
}
hreq 1 150
www 18302; s2=$!
sleep 2
hreq 2 150
kill $s1; wait $s1 2> /dev/null
sleep 2
hreq 3 150
www 18301; s1=$!
kill $s2; wait $s2 2> /dev/null
sleep 2
hreq 4 150
kill $hapid $s1; wait $hapid $s1 2> /dev/null
fi

# --- ZooKeeper 3.8 (Java, log4j): an ensemble of three, elections, a leader killed and back,
# sessions created, expired and closed, znodes created, set, watched and deleted
if want zookeeper; then
zdir="$work/zk"
zk_cp="/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar"
zstart() {  # n: start server n, logging to its own file
    java -Xmx96m -cp "$zdir/$1:$zk_cp" -Dzookeeper.root.logger=INFO,CONSOLE \
        -Dlog4j.configuration="file:$zdir/$1/log4j.properties" -Dzookeeper.admin.enableServer=false \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$zdir/$1/zoo.cfg" >> "$zdir/zk$1.log" 2>&1 &
    zpids[$1]=$!
}
declare -a zpids
for n in 1 2 3; do
    mkdir -p "$zdir/$n/data"
    echo $n > "$zdir/$n/data/myid"
    sed 's/^log4j.rootLogger=.*/log4j.rootLogger=INFO, CONSOLE/' /etc/zookeeper/conf/log4j.properties > "$zdir/$n/log4j.properties"
    printf 'tickTime=200\ninitLimit=10\nsyncLimit=5\ndataDir=%s\nclientPort=%s\nclientPortAddress=127.0.0.1\nsnapCount=100\nminSessionTimeout=400\n' \
        "$zdir/$n/data" "2${n}181" > "$zdir/$n/zoo.cfg"
    for m in 1 2 3; do echo "server.$m=127.0.0.1:2${m}888:2${m}889" >> "$zdir/$n/zoo.cfg"; done
    zstart $n
done
sleep 8
zk() { timeout 20 java -Xmx64m -cp "$zk_cp" -Dlog4j.configuration=file:/dev/null \
    org.apache.zookeeper.ZooKeeperMain -server "127.0.0.1:2${1}181" "${@:2}" > /dev/null 2>&1; }
for round in 1 2 3 4; do
    zk $((round % 3 + 1)) create "/app$round" "v$round"
    zk 1 create -e "/app$round/lock" x
    zk 2 set "/app$round" "w$round"
    zk 3 get -w "/app$round"
    zk 1 ls /
    zk 2 delete "/app$round/missing"
    zk 3 create "/app$round" again
    if [ $round = 2 ]; then
        kill "${zpids[3]}"; wait "${zpids[3]}" 2> /dev/null
        sleep 3
        zstart 3
        sleep 5
    fi
done
zk 1 deleteall /app1
for n in 1 2 3; do kill "${zpids[$n]}" 2> /dev/null; done
wait 2> /dev/null
cat "$zdir"/zk?.log > "$out/zookeeper.raw"  # each in its order: sorting would tear tracebacks apart
fi

wc -l "$out"/*.raw
