0.000000 job 0 starts on node 1
0.000000 job 1 starts on node 2
0.000000 job 2 starts on node 3
0.000000 job 3 starts on node 4
0.000000 job 4 starts on node 5
0.000000 job 5 starts on node 6
1070.846748 job 12 checkpoints (21.2 s)
108.395144 job 5 killed on node 6 (it has a checkpoint)
108.395144 node 6 fails, down for 100 s, 1 job(s) killed
1121.684665 job 12 done on node 1, turnaround 575.35 s
141.165323 job 0 checkpoints (21.2 s)
141.165323 job 1 checkpoints (21.2 s)
141.165323 job 2 checkpoints (21.2 s)
141.165323 job 3 checkpoints (21.2 s)
141.165323 job 4 checkpoints (21.2 s)
208.395144 job 5 restores from its checkpoint at 60.0 s of compute
222.330647 job 0 checkpoints (21.2 s)
222.330647 job 1 checkpoints (21.2 s)
222.330647 job 2 checkpoints (21.2 s)
222.330647 job 3 checkpoints (21.2 s)
222.330647 job 4 checkpoints (21.2 s)
273.168564 job 0 done on node 1, turnaround 273.17 s
273.168564 job 1 done on node 2, turnaround 273.17 s
273.168564 job 10 starts on node 5
273.168564 job 2 done on node 3, turnaround 273.17 s
273.168564 job 3 done on node 4, turnaround 273.17 s
273.168564 job 4 done on node 5, turnaround 273.17 s
273.168564 job 6 starts on node 1
273.168564 job 7 starts on node 2
273.168564 job 8 starts on node 3
273.168564 job 9 starts on node 4
289.560467 job 5 checkpoints (21.2 s)
333.168564 job 10 checkpoints (21.2 s)
333.168564 job 6 checkpoints (21.2 s)
333.168564 job 7 checkpoints (21.2 s)
333.168564 job 8 checkpoints (21.2 s)
333.168564 job 9 checkpoints (21.2 s)
370.725790 job 5 checkpoints (21.2 s)
414.333887 job 10 checkpoints (21.2 s)
414.333887 job 6 checkpoints (21.2 s)
414.333887 job 7 checkpoints (21.2 s)
414.333887 job 8 checkpoints (21.2 s)
414.333887 job 9 checkpoints (21.2 s)
421.563707 job 11 starts on node 6
421.563707 job 5 done on node 6, turnaround 421.56 s
438.465539 job 10 killed on node 5 (it has a checkpoint)
438.465539 node 5 fails, down for 100 s, 1 job(s) killed
481.563707 job 11 checkpoints (21.2 s)
495.499210 job 6 checkpoints (21.2 s)
495.499210 job 7 checkpoints (21.2 s)
495.499210 job 8 checkpoints (21.2 s)
495.499210 job 9 checkpoints (21.2 s)
538.465539 job 10 restores from its checkpoint at 120.0 s of compute
546.337127 job 12 starts on node 1
546.337127 job 13 starts on node 2
546.337127 job 14 starts on node 3
546.337127 job 15 starts on node 4
546.337127 job 6 done on node 1, turnaround 273.17 s
546.337127 job 7 done on node 2, turnaround 273.17 s
546.337127 job 8 done on node 3, turnaround 273.17 s
546.337127 job 9 done on node 4, turnaround 273.17 s
562.729031 job 11 checkpoints (21.2 s)
577.022494 job 14 killed on node 3 (no checkpoint yet: restart from scratch)
577.022494 node 3 fails, down for 100 s, 1 job(s) killed
60.000000 job 0 checkpoints (21.2 s)
60.000000 job 1 checkpoints (21.2 s)
60.000000 job 2 checkpoints (21.2 s)
60.000000 job 3 checkpoints (21.2 s)
60.000000 job 4 checkpoints (21.2 s)
60.000000 job 5 checkpoints (21.2 s)
606.337127 job 12 checkpoints (21.2 s)
606.337127 job 13 checkpoints (21.2 s)
606.337127 job 15 checkpoints (21.2 s)
619.630862 job 10 checkpoints (21.2 s)
621.978510 job 12 killed on node 1 (no checkpoint yet: restart from scratch)
621.978510 node 1 fails, down for 100 s, 1 job(s) killed
643.894354 job 11 checkpoints (21.2 s)
670.468779 job 10 done on node 5, turnaround 397.30 s
670.468779 job 16 starts on node 5
687.502451 job 13 checkpoints (21.2 s)
687.502451 job 15 checkpoints (21.2 s)
694.732271 job 11 done on node 6, turnaround 273.17 s
694.732271 job 17 starts on node 6
730.468779 job 16 checkpoints (21.2 s)
737.022494 job 14 checkpoints (21.2 s)
754.732271 job 17 checkpoints (21.2 s)
768.667774 job 13 checkpoints (21.2 s)
768.667774 job 15 checkpoints (21.2 s)
781.978510 job 12 checkpoints (21.2 s)
808.516102 job 12 killed on node 1 (it has a checkpoint)
808.516102 node 1 fails, down for 100 s, 1 job(s) killed
811.634103 job 16 checkpoints (21.2 s)
818.187818 job 14 checkpoints (21.2 s)
819.505691 job 13 done on node 2, turnaround 273.17 s
819.505691 job 15 done on node 4, turnaround 273.17 s
835.897594 job 17 checkpoints (21.2 s)
892.799426 job 16 checkpoints (21.2 s)
899.353141 job 14 checkpoints (21.2 s)
908.516102 job 12 restores from its checkpoint at 60.0 s of compute
917.062918 job 17 checkpoints (21.2 s)
924.141272 node 2 fails, down for 100 s, 0 job(s) killed
943.637343 job 16 done on node 5, turnaround 273.17 s
950.191058 job 14 done on node 3, turnaround 403.85 s
967.900835 job 17 done on node 6, turnaround 273.17 s
989.681425 job 12 checkpoints (21.2 s)
== order 2100 case IV
0.000000 job 0 starts on node 1
0.000000 job 1 starts on node 2
0.000000 job 2 starts on node 3
0.000000 job 3 starts on node 4
0.000000 job 4 starts on node 5
0.000000 job 5 starts on node 6
1024.141272 job 12 restores from its checkpoint at 60.0 s of compute
1031.356381 job 6 checkpoints (21.2 s)
108.395144 job 5 killed on node 6 (it has a checkpoint)
108.395144 job 5: image (81 MB) from node 6 to node 1
108.395144 node 6 fails, down for 100 s, 1 job(s) killed
1082.194298 job 6 done on node 3, turnaround 595.86 s
1105.306595 job 12 checkpoints (21.2 s)
1186.471918 job 12 checkpoints (21.2 s)
1237.309835 job 12 done on node 2, turnaround 515.33 s
141.165323 job 0 checkpoints (21.2 s)
141.165323 job 1 checkpoints (21.2 s)
141.165323 job 2 checkpoints (21.2 s)
141.165323 job 3 checkpoints (21.2 s)
141.165323 job 4 checkpoints (21.2 s)
208.395144 job 11 starts on node 6
222.330647 job 0 checkpoints (21.2 s)
222.330647 job 1 checkpoints (21.2 s)
222.330647 job 2 checkpoints (21.2 s)
222.330647 job 3 checkpoints (21.2 s)
222.330647 job 4 checkpoints (21.2 s)
268.395144 job 11 checkpoints (21.2 s)
273.168564 job 0 done on node 1, turnaround 273.17 s
273.168564 job 1 done on node 2, turnaround 273.17 s
273.168564 job 10 starts on node 5
273.168564 job 2 done on node 3, turnaround 273.17 s
273.168564 job 3 done on node 4, turnaround 273.17 s
273.168564 job 4 done on node 5, turnaround 273.17 s
273.168564 job 5 restores from its checkpoint at 60.0 s of compute
273.168564 job 5 waited 163.6 s for a node
273.168564 job 7 starts on node 2
273.168564 job 8 starts on node 3
273.168564 job 9 starts on node 4
333.168564 job 10 checkpoints (21.2 s)
333.168564 job 7 checkpoints (21.2 s)
333.168564 job 8 checkpoints (21.2 s)
333.168564 job 9 checkpoints (21.2 s)
349.560467 job 11 checkpoints (21.2 s)
354.333887 job 5 checkpoints (21.2 s)
414.333887 job 10 checkpoints (21.2 s)
414.333887 job 7 checkpoints (21.2 s)
414.333887 job 8 checkpoints (21.2 s)
414.333887 job 9 checkpoints (21.2 s)
430.725790 job 11 checkpoints (21.2 s)
435.499210 job 5 checkpoints (21.2 s)
438.465539 job 10 killed on node 5 (it has a checkpoint)
438.465539 job 10: image (81 MB) from node 5 to node 6
438.465539 node 5 fails, down for 100 s, 1 job(s) killed
481.563707 job 10 restores from its checkpoint at 120.0 s of compute
481.563707 job 10 waited 41.9 s for a node
481.563707 job 11 done on node 6, turnaround 273.17 s
486.337127 job 5 done on node 1, turnaround 486.34 s
486.337127 job 6 starts on node 1
495.499210 job 7 checkpoints (21.2 s)
495.499210 job 8 checkpoints (21.2 s)
495.499210 job 9 checkpoints (21.2 s)
538.465539 job 16 starts on node 5
546.337127 job 13 starts on node 2
546.337127 job 14 starts on node 3
546.337127 job 15 starts on node 4
546.337127 job 6 checkpoints (21.2 s)
546.337127 job 7 done on node 2, turnaround 273.17 s
546.337127 job 8 done on node 3, turnaround 273.17 s
546.337127 job 9 done on node 4, turnaround 273.17 s
562.729031 job 10 checkpoints (21.2 s)
577.022494 job 14 killed on node 3 (no checkpoint yet: restart from scratch)
577.022494 node 3 fails, down for 100 s, 1 job(s) killed
598.465539 job 16 checkpoints (21.2 s)
60.000000 job 0 checkpoints (21.2 s)
60.000000 job 1 checkpoints (21.2 s)
60.000000 job 2 checkpoints (21.2 s)
60.000000 job 3 checkpoints (21.2 s)
60.000000 job 4 checkpoints (21.2 s)
60.000000 job 5 checkpoints (21.2 s)
606.337127 job 13 checkpoints (21.2 s)
606.337127 job 15 checkpoints (21.2 s)
613.566948 job 10 done on node 6, turnaround 340.40 s
613.566948 job 17 starts on node 6
621.978510 job 6 killed on node 1 (it has a checkpoint)
621.978510 job 6: image (81 MB) from node 1 to node 2
621.978510 node 1 fails, down for 100 s, 1 job(s) killed
673.566948 job 17 checkpoints (21.2 s)
679.630862 job 16 checkpoints (21.2 s)
687.502451 job 13 checkpoints (21.2 s)
687.502451 job 15 checkpoints (21.2 s)
721.978510 job 12 starts on node 1
737.022494 job 14 checkpoints (21.2 s)
754.732271 job 17 checkpoints (21.2 s)
760.796186 job 16 checkpoints (21.2 s)
768.667774 job 13 checkpoints (21.2 s)
768.667774 job 15 checkpoints (21.2 s)
781.978510 job 12 checkpoints (21.2 s)
808.516102 job 12 killed on node 1 (it has a checkpoint)
808.516102 job 12: image (81 MB) from node 1 to node 2
808.516102 node 1 fails, down for 100 s, 1 job(s) killed
811.634103 job 16 done on node 5, turnaround 273.17 s
818.187818 job 14 checkpoints (21.2 s)
819.505691 job 13 done on node 2, turnaround 273.17 s
819.505691 job 15 done on node 4, turnaround 273.17 s
819.505691 job 6 restores from its checkpoint at 60.0 s of compute
819.505691 job 6 waited 196.4 s for a node
835.897594 job 17 checkpoints (21.2 s)
886.735511 job 17 done on node 6, turnaround 273.17 s
899.353141 job 14 checkpoints (21.2 s)
900.671015 job 6 checkpoints (21.2 s)
924.141272 job 12 waited 114.5 s for a node
924.141272 job 6 killed on node 2 (it has a checkpoint)
924.141272 job 6: image (81 MB) from node 2 to node 3
924.141272 node 2 fails, down for 100 s, 1 job(s) killed
950.191058 job 14 done on node 3, turnaround 403.85 s
950.191058 job 6 restores from its checkpoint at 120.0 s of compute
950.191058 job 6 waited 24.9 s for a node
== order 2100 case V
