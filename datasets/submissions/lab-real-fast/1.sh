# node 1 of the lab, one terminal each
npm run task2 -- --id 1
npm run task3 -- --id 1
