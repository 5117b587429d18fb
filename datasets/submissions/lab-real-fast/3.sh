# node 3 of the lab, one terminal each
npm run task2 -- --id 3
npm run task3 -- --id 3
