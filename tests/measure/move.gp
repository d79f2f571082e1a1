# move.gp - plot 3 of docs/costs.md: moving a block of N bytes from one
# process to another (move.c, mgr-move.c, move.py). make measure runs it as
#   gnuplot -e "csv='move.csv'; out='move.svg'; methods='shm pipe ...'" move.gp
set terminal svg size 720,480 dynamic font "DejaVu Sans,13" background "#fdfdfb"
set output out
set datafile separator ","
set title "Moving a block from one process to another"
set logscale x 2
set logscale y 10
set format y "10^{%L}"
set xtics ("8 B" 8, "64 B" 64, "1 KiB" 1024, "16 KiB" 16384, "256 KiB" 262144, \
           "4 MiB" 4194304, "64 MiB" 67108864)
set xrange [6:90000000]
set xlabel "block size"
set ylabel "megabytes per second"
set grid lc rgb "#dddddd"
set key bottom right
name(m) = m eq "shm" ? "shared segment (memcpy in, out)" : \
          m eq "pipe" ? "pipe (write, read)" : \
          m eq "manager" ? "shmlab manager (set, get; to 256 KiB)" : \
          m eq "python-shared_memory" ? "Python SharedMemory" : \
          m eq "python-manager" ? "Python Manager dict" : m
color(m) = m eq "shm" ? "#1e7b34" : m eq "pipe" ? "#0b5cad" : \
           m eq "manager" ? "#b3261e" : m eq "python-shared_memory" ? "#6b3fa0" : "#444444"
# Skip the header row; $1 is the method, $2 the bytes, $4 the rate.
plot for [m in methods] csv every ::1 using 2:(strcol(1) eq m ? $4 : 1/0) \
     with linespoints lw 2 pt 7 ps 0.7 lc rgb color(m) title name(m)
